package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aienrichment/ai-enrichment/functions/silver"
)

// Generator makes varied, deterministic postings: the same seed gives the same rows.
type Generator struct {
	rng    *rand.Rand
	nextID int64
}

// NewGenerator returns a generator whose ids start at a seed-derived base, so
// generators with different seeds do not collide.
func NewGenerator(seed uint64) *Generator {
	return &Generator{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		nextID: 3_900_000_000 + int64(seed%1000)*10_000_000,
	}
}

type role struct{ title, function, industry string }

var roles = []role{
	{"Data Engineer", "Engineering", "Software Development"},
	{"Analytics Engineer", "Engineering", "Financial Services"},
	{"Machine Learning Engineer", "Engineering", "Technology, Information and Internet"},
	{"Backend Developer (Go)", "Information Technology", "Software Development"},
	{"Data Platform Engineer", "Engineering", "Retail"},
	{"Cloud Data Architect", "Consulting", "IT Services and IT Consulting"},
	{"ETL Developer", "Information Technology", "Hospitals and Health Care"},
	{"Big Data Engineer", "Engineering", "Telecommunications"},
}

// level is a LinkedIn seniority with the title word and experience that go with it.
type level struct {
	linkedIn, titleWord string
	years               int
	pay                 float64 // share of the country's senior pay
}

var levels = []level{
	{"Internship", "Intern", 0, 0.4},
	{"Entry level", "Junior", 1, 0.6},
	{"Associate", "Associate", 2, 0.75},
	{"Mid-Senior level", "", 3, 0.9},
	{"Mid-Senior level", "Senior", 5, 1},
	{"Director", "Principal", 10, 1.3},
}

var employment = []string{"Full-time", "Full-time", "Contract", "Part-time", "Temporary"}

var companies = []string{"Acme Analytics", "Nimbus Data", "Ribeira Tecnologia", "Müller & Söhne GmbH", "Pampa Labs", "Northwind Traders", "Zürich Rückversicherung", "Café Digital S.A."}

// place is a location with its country, currency, language and work model ("" lets
// the generator choose on-site or hybrid).
type place struct{ location, country, currency, lang, workModel string }

var places = []place{
	{"San Francisco, CA", "US", "USD", "en", ""},
	{"New York, NY", "US", "USD", "en", ""},
	{"Austin, TX (Hybrid)", "US", "USD", "en", "hybrid"},
	{"London, England, United Kingdom", "GB", "GBP", "en", ""},
	{"Berlin, Germany", "DE", "EUR", "de", ""},
	{"München, Bayern, Deutschland", "DE", "EUR", "de", ""},
	{"Lisboa, Portugal", "PT", "EUR", "pt", ""},
	{"São Paulo, SP, Brasil", "BR", "BRL", "pt", ""},
	{"Ciudad de México, CDMX, México", "MX", "MXN", "es", ""},
	{"Bogotá, Colombia", "CO", "COP", "es", ""},
	{"Remote", "US", "USD", "en", "remote"},
	{"Remote (EMEA)", "", "EUR", "en", "remote"},
}

var skills = []string{"python", "sql", "spark", "airflow", "dbt", "aws", "gcp", "azure", "kafka", "terraform", "go", "scala", "snowflake", "databricks", "kubernetes", "docker"}

// skillNames are the skills as a posting writes them.
var skillNames = map[string]string{
	"python": "Python", "sql": "SQL", "spark": "Spark", "airflow": "Airflow", "dbt": "dbt", "aws": "AWS", "gcp": "GCP",
	"azure": "Azure", "kafka": "Kafka", "terraform": "Terraform", "go": "Go", "scala": "Scala", "snowflake": "Snowflake",
	"databricks": "Databricks", "kubernetes": "Kubernetes", "docker": "Docker",
}

// phrases are the sentences of a posting in each language.
type phrases struct {
	intro, filler, skills, years string
	workModel                    map[string]string
	and                          string
}

var language = map[string]phrases{
	"en": {
		intro:     "We are hiring a %s to join our team at %s. You will design and operate data pipelines that serve analytics and machine learning.",
		filler:    "Responsibilities include building batch and streaming jobs, modelling data, writing tests, reviewing code and mentoring colleagues. ",
		skills:    "You work with %s.",
		years:     "We expect %d+ years of experience.",
		workModel: map[string]string{"remote": "The role is fully remote.", "hybrid": "The role is hybrid, with two days a week in the office.", "onsite": "The role is on-site in our office."},
		and:       "and",
	},
	"de": {
		intro:     "Wir suchen eine:n %s für unser Team bei %s. Du entwirfst und betreibst Datenpipelines für Analysen und maschinelles Lernen – größtenteils in der Cloud.",
		filler:    "Zu den Aufgaben gehören Batch- und Streaming-Jobs, Datenmodellierung, Tests, Code-Reviews und die Betreuung von Kolleg:innen. ",
		skills:    "Du arbeitest mit %s.",
		years:     "Wir erwarten %d+ Jahre Erfahrung.",
		workModel: map[string]string{"hybrid": "Die Stelle ist hybrid, zwei Tage pro Woche im Büro.", "onsite": "Die Arbeit findet vor Ort in unserem Büro statt."},
		and:       "und",
	},
	"pt": {
		intro:     "Estamos contratando %s para integrar a equipe da %s. Você vai projetar e operar pipelines de dados para análises e aprendizado de máquina; experiência com ingestão é um diferencial.",
		filler:    "As responsabilidades incluem criar jobs em lote e streaming, modelar dados, escrever testes, revisar código e orientar colegas. ",
		skills:    "Você vai trabalhar com %s.",
		years:     "Esperamos %d+ anos de experiência.",
		workModel: map[string]string{"hybrid": "O modelo de trabalho é híbrido, dois dias por semana no escritório.", "onsite": "O trabalho é presencial no nosso escritório."},
		and:       "e",
	},
	"es": {
		intro:     "Buscamos %s para unirse al equipo de %s. Diseñarás y operarás canalizaciones de datos para analítica y aprendizaje automático; se valorará experiencia en migración.",
		filler:    "Las responsabilidades incluyen crear procesos por lotes y en streaming, modelar datos, escribir pruebas, revisar código y guiar a compañeros. ",
		skills:    "Trabajarás con %s.",
		years:     "Esperamos %d+ años de experiencia.",
		workModel: map[string]string{"hybrid": "El puesto es híbrido, dos días por semana en la oficina.", "onsite": "El trabajo es presencial en nuestra oficina."},
		and:       "y",
	},
}

// visa are the work-authorisation sentences of US and UK postings.
var visa = []string{"Visa sponsorship is not available.", "Visa sponsorship is available for this role.", "Candidates must be authorized to work in the country of the role."}

func (g *Generator) pick(n int) int { return g.rng.IntN(n) }

func ptr[T any](v T) *T { return &v }

// Row returns the next posting, scraped at scrapedAt. Its columns agree with its text:
// the salary columns are the pay the text states (Spark's parser leaves them empty
// for "around 172k"), the skill columns are the skills it names, the seniority
// column matches the title and the currency the location.
func (g *Generator) Row(scrapedAt time.Time) Row {
	id := fmt.Sprint(g.nextID)
	g.nextID++
	ro := roles[g.pick(len(roles))]
	pl := places[g.pick(len(places))]
	lv := levels[g.pick(len(levels))]
	company := companies[g.pick(len(companies))]
	title := ro.title
	switch lv.titleWord {
	case "":
	case "Intern":
		title += " Intern"
	default:
		title = lv.titleWord + " " + title
	}
	kind := employment[g.pick(len(employment))]
	if lv.linkedIn == "Internship" {
		kind = "Internship"
	}
	workModel := pl.workModel
	if workModel == "" {
		workModel = []string{"onsite", "hybrid"}[g.pick(2)]
	}
	var skillList []string
	for _, i := range g.rng.Perm(len(skills))[:1+g.pick(6)] {
		skillList = append(skillList, skills[i])
	}
	if strings.HasSuffix(ro.title, "(Go)") && !slices.Contains(skillList, "go") {
		skillList = append(skillList, "go") // the title names it
	}
	salaryText, sMin, sMax, period := g.salary(pl, lv.pay)
	text := g.description(pl, title, company, workModel, lv.years, skillList, salaryText)
	posted := scrapedAt.Add(-time.Duration(g.pick(72*60)) * time.Minute)
	r := Row{
		JobPostingID:            &id,
		SourceSystem:            ptr("linkedin"),
		URL:                     ptr("https://www.linkedin.com/jobs/view/" + id),
		ScrapedAt:               silver.TimeInt96(scrapedAt),
		CompanyName:             &company,
		CompanyID:               ptr(fmt.Sprint(1000 + g.pick(9000))),
		JobTitle:                &title,
		JobSeniorityLevel:       ptr(lv.linkedIn),
		JobFunction:             ptr(ro.function),
		JobEmploymentType:       ptr(kind),
		JobIndustries:           ptr(ro.industry),
		JobLocation:             ptr(pl.location),
		JobPostedDatetime:       silver.TimeInt96(posted),
		JobPostedDateOnly:       ptr(int32(posted.Unix() / 86400)),
		ApplicationAvailability: ptr(g.pick(4) != 0),
		ApplyLink:               ptr("https://careers.example.com/apply/" + id),
		JobSummary:              ptr(title + " at " + company),
		JobDescriptionHTML:      ptr("<div><p>" + text + "</p></div>"),
		JobDescriptionText:      &text,
		SkillsCanonical:         skillList,
		SkillsFamilies:          []string{"data_engineering"},
		SkillsRawHits:           skillList,
		SkillsCatalogVersion:    ptr("2025.11"),
		SalaryMin:               sMin,
		SalaryMax:               sMax,
		SalaryPeriod:            period,
	}
	if pl.country != "" {
		r.CountryCode = ptr(pl.country)
	}
	if sMin != nil {
		r.SalaryCurrency = ptr(pl.currency)
	}
	if g.pick(3) != 0 {
		r.JobNumApplicants = ptr(int32(g.pick(500)))
	}
	if g.pick(2) == 0 {
		r.JobPosterName, r.JobPosterTitle = ptr("Alex Recruiter"), ptr("Talent Partner")
	}
	return r
}

// pay is how a country's postings state pay: a yearly or monthly range in the
// local currency, and for the US an hourly rate or an approximate figure.
var payRanges = map[string]struct {
	lo, span float64 // yearly, or monthly when the format says so
	format   string  // lo, hi
	period   string
}{
	"USD": {90_000, 110_000, "Salary: USD %.0f - %.0f per year.", "YEARLY"},
	"GBP": {50_000, 60_000, "Salary: £%.0f - £%.0f per annum.", "YEARLY"},
	"EUR": {45_000, 50_000, "Salary: EUR %.0f - %.0f per year.", "YEARLY"},
	"BRL": {8_000, 17_000, "Faixa salarial: R$ %.0f a R$ %.0f por mês (CLT).", "MONTHLY"},
	"MXN": {40_000, 70_000, "Salario: MXN %.0f - %.0f al mes.", "MONTHLY"},
	"COP": {6_000_000, 12_000_000, "Salario: COP %.0f - %.0f al mes.", "MONTHLY"},
}

// salaryLocal are the yearly-range sentences in German and European Portuguese.
var salaryLocal = map[string]string{"de": "Gehalt: EUR %.0f - %.0f pro Jahr.", "pt": "Salário: EUR %.0f a %.0f por ano."}

// salary picks, at share of the country's senior pay, one of the formats seen in real postings: a structured range, an
// hourly rate, "around 172k" only in the text, or nothing at all. The columns hold
// what Spark's parser would take from the text.
func (g *Generator) salary(pl place, share float64) (text string, lo, hi *float64, period *string) {
	r := payRanges[pl.currency]
	base := math.Round((r.lo+float64(g.pick(int(r.span/100)))*100)*share/100) * 100
	switch k := g.pick(5); {
	case k <= 1:
		format := r.format
		if f, ok := salaryLocal[pl.lang]; ok && pl.currency == "EUR" {
			format = f
		}
		return fmt.Sprintf(format, base, base*1.25), ptr(base), ptr(base * 1.25), ptr(r.period)
	case k == 2 && pl.currency == "USD":
		rate := math.Round(float64(40+g.pick(80)) * share)
		return fmt.Sprintf("Pay: $%.0f - $%.0f per hour on a W2 basis.", rate, rate+15), ptr(rate), ptr(rate + 15), ptr("HOURLY")
	case k == 3 && pl.currency == "USD":
		return fmt.Sprintf("Compensation around %.0fk plus equity.", base/1000), nil, nil, nil
	}
	return "", nil, nil, nil
}

// description makes a short text (~300 characters), a typical one, or sometimes a
// long one over 12,000 characters, in the place's language, stating the work model,
// the skills, the experience, (in the US and UK) the visa policy and the pay.
func (g *Generator) description(pl place, title, company, workModel string, years int, skillList []string, salary string) string {
	l := language[pl.lang]
	var b strings.Builder
	fmt.Fprintf(&b, l.intro, title, company)
	b.WriteString(" ")
	if s, ok := l.workModel[workModel]; ok {
		b.WriteString(s + " ")
	}
	names := make([]string, len(skillList))
	for i, s := range skillList {
		names[i] = skillNames[s]
	}
	if len(names) > 1 {
		names = append(names[:len(names)-2], names[len(names)-2]+" "+l.and+" "+names[len(names)-1])
	}
	fmt.Fprintf(&b, l.skills+" ", strings.Join(names, ", "))
	if years > 0 {
		fmt.Fprintf(&b, l.years+" ", years)
	}
	if (pl.country == "US" || pl.country == "GB") && g.pick(4) != 0 {
		b.WriteString(visa[g.pick(len(visa))] + " ")
	}
	b.WriteString(salary + " ")
	// The facts come first: a prompt keeps the start of a long description.
	repeats := 3 + g.pick(12)
	switch g.pick(10) {
	case 0:
		repeats = 0
	case 1:
		repeats = 110 // > 12,000 characters
	}
	for range repeats {
		b.WriteString(l.filler)
	}
	return strings.TrimSpace(b.String())
}

// Tricky returns rows the reader must count and report but never publish: an id that
// tries path traversal, an empty description and a missing id.
func Tricky(scrapedAt time.Time) []Row {
	ts := silver.TimeInt96(scrapedAt)
	text := "A real description."
	return []Row{
		{JobPostingID: ptr("../x"), ScrapedAt: ts, JobDescriptionText: &text},
		{JobPostingID: ptr("3800000001"), ScrapedAt: ts, JobDescriptionText: ptr("  ")},
		{ScrapedAt: ts, JobDescriptionText: &text},
	}
}
