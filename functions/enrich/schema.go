package enrich

// The result types below are the single source of truth for each pass: the prompt's
// output template, the JSON schema, the validator and the offline model are all derived
// from them by reflection. Struct tags carry the vocabularies:
//
//	enum:"a|b|c"        allowed values (for strings and string lists)
//	range:"lo,hi"       inclusive numeric range
//	format:"country"    ISO 3166-1 alpha-2 code (also "usstate", "currency")
//	alias:"old_name"    key accepted when the canonical key is absent
//	maxlen:"120"        longest text kept (runes); longer text is cut at a word
//	when:"value;source=a|b"  the field is kept only when each condition holds on its
//	                    siblings: a bare name has a value (not null, "not_mentioned"
//	                    or []), name=a|b has one of those values; otherwise it is null
//
// Pointers are nullable scalars; lists are never null after validation.

// ExtractionResult is the normalised pass1 document.
type ExtractionResult struct {
	Extraction Extraction `json:"extraction"`
}

// Extraction holds the facts stated in the posting.
type Extraction struct {
	Compensation      Compensation      `json:"compensation"`
	WorkAuthorization WorkAuthorization `json:"work_authorization"`
	WorkModel         WorkModel         `json:"work_model"`
	ContractDetails   ContractDetails   `json:"contract_details"`
	ContractorRates   ContractorRates   `json:"contractor_rates"`
	Skills            Skills            `json:"skills_classified"`
	Geography         Geography         `json:"geographic_restrictions"`
	Benefits          Benefits          `json:"benefits_structured"`
	Context           Context           `json:"context"`
}

type Compensation struct {
	SalaryDisclosed    *bool    `json:"salary_disclosed"`
	SalaryMin          *float64 `json:"salary_min" range:"0,100000000"`
	SalaryMax          *float64 `json:"salary_max" range:"0,100000000"`
	SalaryCurrency     *string  `json:"salary_currency" format:"currency"`
	SalaryPeriod       *string  `json:"salary_period" enum:"yearly|monthly|hourly"`
	SalaryTextRaw      *string  `json:"salary_text_raw"`
	HourlyRateMin      *float64 `json:"hourly_rate_min" range:"0,100000"`
	HourlyRateMax      *float64 `json:"hourly_rate_max" range:"0,100000"`
	HourlyRateCurrency *string  `json:"hourly_rate_currency" format:"currency"`
	HourlyRateTextRaw  *string  `json:"hourly_rate_text_raw"`
}

type WorkAuthorization struct {
	VisaSponsorship   *string `json:"visa_sponsorship_stated" enum:"will_sponsor|will_not_sponsor|must_be_authorized|not_mentioned"`
	WorkAuthText      *string `json:"work_auth_text"`
	CitizenshipText   *string `json:"citizenship_text"`
	SecurityClearance *string `json:"security_clearance_stated" enum:"required|preferred|not_mentioned"`
}

type WorkModel struct {
	WorkModelStated         *string `json:"work_model_stated" enum:"remote|hybrid|onsite|not_mentioned"`
	LocationRestrictionText *string `json:"location_restriction_text"`
	EmploymentTypeStated    *string `json:"employment_type_stated" enum:"full_time|contract|internship|part_time|not_mentioned"`
}

type ContractDetails struct {
	ContractType         *string  `json:"contract_type" enum:"permanent|fixed_term|contract_to_hire|project_based|seasonal|not_mentioned"`
	ContractDurationMons *float64 `json:"contract_duration_months" range:"0,120"`
	ContractDurationText *string  `json:"contract_duration_text"`
	ExtensionPossible    *string  `json:"extension_possible" enum:"yes|likely|no|not_mentioned"`
	ConversionToFTE      *string  `json:"conversion_to_fte" enum:"yes_guaranteed|yes_possible|no|not_mentioned"`
	StartDate            *string  `json:"start_date" enum:"immediate|within_2_weeks|within_month|flexible|specific_date|not_mentioned"`
	StartDateText        *string  `json:"start_date_text"`
	ProbationPeriodText  *string  `json:"probation_period_text"`
}

type ContractorRates struct {
	PayType           *string  `json:"pay_type" enum:"salary|hourly|daily|weekly|monthly|project_fixed|not_mentioned"`
	DailyRateMin      *float64 `json:"daily_rate_min" range:"0,1000000"`
	DailyRateMax      *float64 `json:"daily_rate_max" range:"0,1000000"`
	DailyRateCurrency *string  `json:"daily_rate_currency" format:"currency"`
	DailyRateTextRaw  *string  `json:"daily_rate_text_raw"`
	RateNegotiable    *string  `json:"rate_negotiable" enum:"yes|doe|fixed|not_mentioned"`
	OvertimePaid      *string  `json:"overtime_paid" enum:"yes|no|exempt|not_mentioned"`
}

type Skills struct {
	MustHaveHard         []string `json:"must_have_hard_skills"`
	NiceToHaveHard       []string `json:"nice_to_have_hard_skills"`
	MustHaveSoft         []string `json:"must_have_soft_skills"`
	NiceToHaveSoft       []string `json:"nice_to_have_soft_skills"`
	Certifications       []string `json:"certifications_mentioned"`
	CloudProviders       []string `json:"cloud_providers_mentioned" enum:"aws|azure|gcp|oracle_cloud|ibm_cloud|alibaba_cloud"`
	YearsExperienceMin   *float64 `json:"years_experience_min" range:"0,50"`
	YearsExperienceMax   *float64 `json:"years_experience_max" range:"0,50"`
	YearsExperienceText  *string  `json:"years_experience_text"`
	EducationLevel       *string  `json:"education_level" enum:"PHD|MASTERS|BACHELORS|ASSOCIATES|HIGH_SCHOOL|BOOTCAMP"`
	EducationArea        *string  `json:"education_area"`
	EducationRequirement *string  `json:"education_requirement" enum:"required|preferred|or_equivalent|not_mentioned"`
	EducationTextRaw     *string  `json:"education_text_raw"`
	LLMGenAIMentioned    *bool    `json:"llm_genai_mentioned"`
	FeatureStoreMention  *bool    `json:"feature_store_mentioned"`
}

type Geography struct {
	RestrictionType      *string  `json:"geo_restriction_type" enum:"us_only|eu_only|uk_only|latam_only|apac_only|specific_countries|global|not_mentioned"`
	AllowedCountries     []string `json:"allowed_countries" format:"country"`
	ExcludedCountries    []string `json:"excluded_countries" format:"country"`
	USStateRestrictions  []string `json:"us_state_restrictions" format:"usstate"`
	ResidencyRequirement *string  `json:"residency_requirement" enum:"must_be_resident|willing_to_relocate|no_requirement|not_mentioned"`
}

type Benefits struct {
	BenefitsMentioned []string `json:"benefits_mentioned"`
	EquityMentioned   *bool    `json:"equity_mentioned"`
	LearningBudget    *bool    `json:"learning_budget_mentioned"`
	ConferenceBudget  *bool    `json:"conference_budget_mentioned"`
	HardwareChoice    *bool    `json:"hardware_choice_mentioned"`
	PTOPolicy         *string  `json:"pto_policy" enum:"unlimited|generous|standard|limited|not_mentioned"`
}

type Context struct {
	TeamInfoText           *string `json:"team_info_text"`
	CompanyDescriptionText *string `json:"company_description_text"`
}

// Inferred is one pass2/pass3 judgement. The outer field's tags apply to Value.
// Evidence is kept only where it carries information: for a value the model inferred
// or combined, in one short phrase. A stated or earlier-pass value is its own evidence
// and an empty value has none; this halves the evidence tokens of an answer
// (docs/passes.md, "Compact answers").
type Inferred[T any] struct {
	Value      T        `json:"value" inherit:"true"`
	Confidence *float64 `json:"confidence" range:"0,1"`
	Evidence   *string  `json:"evidence" maxlen:"120" when:"value;source=inferred|combined"`
	Source     *string  `json:"source" enum:"explicit|previous_pass|inferred|combined"`
}

type (
	inferredText = Inferred[*string]
	inferredBool = Inferred[*bool]
	inferredList = Inferred[[]string]
	inferredNum  = Inferred[*float64]
)

// InferenceResult is the normalised pass2 document.
type InferenceResult struct {
	Inference Inference `json:"inference"`
}

// Inference holds structured inferences drawn from the posting and pass1.
type Inference struct {
	SeniorityAndRole  SeniorityAndRole  `json:"seniority_and_role"`
	StackAndCloud     StackAndCloud     `json:"stack_and_cloud"`
	GeoAndWorkModel   GeoAndWorkModel   `json:"geo_and_work_model"`
	VisaAndAuth       VisaAndAuth       `json:"visa_and_authorization"`
	ContractAndComp   ContractAndComp   `json:"contract_and_compensation"`
	CareerDevelopment CareerDevelopment `json:"career_development"`
	RequirementsClass RequirementsClass `json:"requirements_classification"`
}

type SeniorityAndRole struct {
	SeniorityLevel        inferredText `json:"seniority_level" enum:"intern|entry|associate|junior|mid|senior|staff|principal|distinguished|not_mentioned"`
	JobFamily             inferredText `json:"job_family" enum:"data_engineer|analytics_engineer|ml_engineer|mlops_engineer|data_platform_engineer|data_architect|data_scientist|data_analyst|bi_engineer|research_engineer|not_mentioned"`
	SubSpecialty          inferredText `json:"sub_specialty" enum:"streaming_realtime|batch_etl|data_warehouse|data_lakehouse|ml_infra|mlops|data_governance|data_quality|data_modeling|cloud_migration|reverse_etl|api_development|observability|general|not_mentioned"`
	LeadershipExpectation inferredText `json:"leadership_expectation" enum:"ic|tech_lead_ic|architect|people_manager|tech_and_people_lead|not_mentioned"`
}

type StackAndCloud struct {
	PrimaryCloud         inferredText `json:"primary_cloud" enum:"aws|azure|gcp|multi|on_prem|not_mentioned"`
	SecondaryClouds      inferredList `json:"secondary_clouds" enum:"aws|azure|gcp|oracle_cloud|ibm_cloud|alibaba_cloud"`
	ProcessingParadigm   inferredText `json:"processing_paradigm" enum:"streaming|batch|hybrid|not_mentioned"`
	OrchestratorCategory inferredText `json:"orchestrator_category" enum:"airflow_like|spark_native|dbt_core|cloud_native|dagster_prefect|not_mentioned"`
	StorageLayer         inferredText `json:"storage_layer" enum:"warehouse|lake|lakehouse|mixed|not_mentioned"`
}

type GeoAndWorkModel struct {
	RemoteRestriction  inferredText `json:"remote_restriction" enum:"same_country|same_timezone|same_region|anywhere|not_mentioned"`
	TimezoneFocus      inferredText `json:"timezone_focus" enum:"americas|europe|apac|global|specific_country|not_mentioned"`
	RelocationRequired inferredBool `json:"relocation_required"`
}

type VisaAndAuth struct {
	H1BFriendly         inferredBool `json:"h1b_friendly"`
	OPTCPTFriendly      inferredBool `json:"opt_cpt_friendly"`
	CitizenshipRequired inferredText `json:"citizenship_required" enum:"work_auth_only|us_citizen_only|us_or_gc|any|not_mentioned"`
}

type ContractAndComp struct {
	W2Vs1099      inferredText `json:"w2_vs_1099" enum:"w2|c2c|1099|any|not_mentioned"`
	BenefitsLevel inferredText `json:"benefits_level" enum:"comprehensive|standard|basic|none_mentioned|not_mentioned"`
}

type CareerDevelopment struct {
	GrowthPathClarity         inferredText `json:"growth_path_clarity" enum:"explicit|implied|vague|not_mentioned"`
	MentorshipSignals         inferredText `json:"mentorship_signals" enum:"explicit_yes|implied|not_mentioned"`
	PromotionPathMentioned    inferredBool `json:"promotion_path_mentioned"`
	InternalMobilityMentioned inferredBool `json:"internal_mobility_mentioned"`
	CareerTracksAvailable     inferredList `json:"career_tracks_available" enum:"ic_track|management_track|specialist_track|architect_track"`
}

type RequirementsClass struct {
	RequirementStrictness  inferredText `json:"requirement_strictness" enum:"low|medium|high|not_mentioned"`
	ScopeDefinition        inferredText `json:"scope_definition" enum:"clear|vague|multi_role|not_mentioned"`
	SkillInflationDetected inferredBool `json:"skill_inflation_detected"`
}

// AnalysisResult is the normalised pass3 document: the analysis and its summary.
type AnalysisResult struct {
	Analysis Analysis `json:"analysis"`
	Summary  Summary  `json:"summary"`
}

// Analysis holds the pass3 judgements with controlled vocabularies.
type Analysis struct {
	CompanyMaturity CompanyMaturity `json:"company_maturity"`
	RoleQuality     RoleQuality     `json:"red_flags_and_role_quality"`
	Stakeholders    Stakeholders    `json:"stakeholders_and_leadership"`
	TechCulture     TechCulture     `json:"tech_culture"`
	TechCultureAsmt TechCultureAsmt `json:"tech_culture_assessment"`
	AIMLIntegration AIMLIntegration `json:"ai_ml_integration"`
	Competition     Competition     `json:"competition_and_timing"`
	CompanyContext  CompanyContext  `json:"company_context"`
}

type CompanyMaturity struct {
	DataMaturityScore Inferred[*int] `json:"data_maturity_score" range:"1,5"`
	DataMaturityLevel inferredText   `json:"data_maturity_level" enum:"ad_hoc|developing|defined|managed|optimizing|not_mentioned"`
	MaturitySignals   inferredList   `json:"maturity_signals" enum:"modern_data_stack_adoption|cicd_practices|data_quality_testing|monitoring_observability|data_governance|data_mesh_patterns|mlops_practices|cloud_native"`
}

type RoleQuality struct {
	ScopeCreepScore     inferredNum  `json:"scope_creep_score" range:"0,1"`
	OvertimeRiskScore   inferredNum  `json:"overtime_risk_score" range:"0,1"`
	RoleClarity         inferredText `json:"role_clarity" enum:"clear|vague|multi_role|not_mentioned"`
	OverallRedFlagScore inferredNum  `json:"overall_red_flag_score" range:"0,1"`
}

type Stakeholders struct {
	ReportingClarity        inferredText               `json:"reporting_structure_clarity" enum:"clear|mentioned|vague|not_mentioned"`
	ManagerLevelInferred    inferredText               `json:"manager_level_inferred" enum:"director_plus|senior_manager|manager|tech_lead|not_mentioned"`
	TeamGrowthVelocity      inferredText               `json:"team_growth_velocity" enum:"rapid_expansion|steady_growth|stable|unknown|not_mentioned"`
	TeamComposition         Inferred[*TeamComposition] `json:"team_composition"`
	ReportingStructure      inferredText               `json:"reporting_structure" enum:"reports_to_cto|reports_to_director_data|reports_to_manager|reports_to_tech_lead|matrix_reporting|not_mentioned"`
	CrossFunctionalEmbedded inferredBool               `json:"cross_functional_embedded"`
}

// TeamComposition is free text as stated or inferred ("5-10", "2 data engineers").
type TeamComposition struct {
	TeamSize     *string `json:"team_size"`
	DECount      *string `json:"de_count"`
	SeniorityMix *string `json:"seniority_mix"`
}

type TechCulture struct {
	WorkLifeBalanceScore     inferredNum `json:"work_life_balance_score" range:"0,1"`
	GrowthOpportunitiesScore inferredNum `json:"growth_opportunities_score" range:"0,1"`
	TechCultureScore         inferredNum `json:"tech_culture_score" range:"0,1"`
}

type TechCultureAsmt struct {
	TechCultureSignals    inferredList `json:"tech_culture_signals" enum:"open_source|internal_oss|tech_blogs|conference_speaking|hackathons|innovation_time"`
	DevPracticesMentioned inferredList `json:"dev_practices_mentioned" enum:"code_review|pair_programming|tdd|ci_cd|monitoring|incident_response|postmortems|design_docs|rfc_process"`
	InnovationSignals     inferredText `json:"innovation_signals" enum:"high|medium|low|not_mentioned"`
	TechDebtAwareness     inferredBool `json:"tech_debt_awareness"`
}

type AIMLIntegration struct {
	AIIntegrationLevel inferredText `json:"ai_integration_level" enum:"none|basic_ml|advanced_ml|mlops|genai_focus|not_mentioned"`
	MLToolsExpected    inferredList `json:"ml_tools_expected"`
}

type Competition struct {
	HiringUrgency    inferredText `json:"hiring_urgency" enum:"immediate|asap|normal|pipeline|not_mentioned"`
	CompetitionLevel inferredText `json:"competition_level" enum:"low|medium|high|very_high|not_mentioned"`
}

type CompanyContext struct {
	CompanyStage     inferredText `json:"company_stage_inferred" enum:"startup_seed|startup_series_a_b|growth_stage|established_tech|enterprise|not_mentioned"`
	HiringVelocity   inferredText `json:"hiring_velocity" enum:"aggressive|steady|replacement|first_hire|not_mentioned"`
	TeamSizeSignals  inferredText `json:"team_size_signals" enum:"solo|small_2_5|medium_6_15|large_16_50|very_large_50_plus|not_mentioned"`
	FundingStage     inferredText `json:"funding_stage_signals" enum:"bootstrapped|seed|series_a|series_b_plus|public|profitable|not_mentioned"`
	RoleCreationType inferredText `json:"role_creation_type" enum:"new_headcount|backfill|team_expansion|new_function|not_mentioned"`
}

// Summary is the candidate-facing summary of pass3: plain values, no confidence.
type Summary struct {
	StrengthCategories  []string `json:"strength_categories" enum:"competitive_compensation|transparent_salary|equity_offered|modern_tech_stack|cloud_native|remote_friendly|hybrid_work|flexible_schedule|career_growth_clear|learning_opportunities|clear_requirements|well_defined_role|strong_benefits|work_life_balance|collaborative_culture|diverse_team|data_focused_role|established_company|startup_energy|visa_sponsorship"`
	StrengthDetails     []string `json:"strength_details" alias:"strengths"`
	ConcernCategories   []string `json:"concern_categories" enum:"vague_requirements|unclear_responsibilities|salary_not_disclosed|below_market_pay|no_visa_sponsorship|citizenship_required|on_call_expected|overtime_likely|scope_creep_risk|jack_of_all_trades|legacy_technology|tech_debt_heavy|high_turnover_signals|backfill_role|unclear_reporting|travel_required|relocation_required|limited_growth|startup_risk|contract_short_term"`
	ConcernDetails      []string `json:"concern_details" alias:"concerns"`
	BestFitCategories   []string `json:"best_fit_categories" enum:"senior_data_engineers|mid_level_engineers|junior_engineers|cloud_specialists|platform_architects|pipeline_developers|analytics_engineers|ml_engineers|data_generalists|startup_enthusiasts|enterprise_experienced|remote_workers|career_changers|leadership_track|technical_specialists"`
	BestFitDetails      []string `json:"best_fit_details" alias:"best_fit_for"`
	ProbeCategories     []string `json:"probe_categories" enum:"team_size_composition|reporting_structure|tech_stack_details|on_call_expectations|work_hour_expectations|remote_policy_details|career_growth_path|salary_range_details|visa_sponsorship_details|role_scope_boundaries|tech_debt_situation|team_turnover_history|company_financials|project_timeline|success_metrics"`
	ProbeDetails        []string `json:"probe_details" alias:"red_flags_to_probe"`
	LeverageCategories  []string `json:"leverage_categories" enum:"rare_skill_match|exact_experience_match|exceeds_requirements|multiple_competing_offers|high_market_demand|domain_expertise|leadership_experience|quick_availability|local_candidate|referral_connection"`
	LeverageDetails     []string `json:"leverage_details" alias:"negotiation_leverage"`
	OverallAssessment   *string  `json:"overall_assessment"`
	RecommendationScore *float64 `json:"recommendation_score" range:"0,1"`
	RecommendationConf  *float64 `json:"recommendation_confidence" range:"0,1"`
}
