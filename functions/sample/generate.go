package sample

import (
	"fmt"
	"math/rand/v2"
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

var seniorities = []string{"Internship", "Entry level", "Associate", "Mid-Senior level", "Director", "Executive"}

var employment = []string{"Full-time", "Contract", "Part-time", "Temporary"}

var companies = []string{"Acme Analytics", "Nimbus Data", "Ribeira Tecnologia", "Müller & Söhne GmbH", "Pampa Labs", "Northwind Traders", "Zürich Rückversicherung", "Café Digital S.A."}

type place struct{ location, country, currency, lang string }

var places = []place{
	{"San Francisco, CA", "US", "USD", "en"},
	{"New York, NY", "US", "USD", "en"},
	{"Austin, TX (Hybrid)", "US", "USD", "en"},
	{"London, England, United Kingdom", "GB", "GBP", "en"},
	{"Berlin, Germany", "DE", "EUR", "de"},
	{"München, Bayern, Deutschland", "DE", "EUR", "de"},
	{"Lisboa, Portugal", "PT", "EUR", "pt"},
	{"São Paulo, SP, Brasil", "BR", "BRL", "pt"},
	{"Ciudad de México, CDMX, México", "MX", "MXN", "es"},
	{"Bogotá, Colombia", "CO", "COP", "es"},
	{"Remote", "US", "USD", "en"},
	{"Remote (EMEA)", "", "EUR", "en"},
}

var skills = []string{"python", "sql", "spark", "airflow", "dbt", "aws", "gcp", "azure", "kafka", "terraform", "go", "scala", "snowflake", "databricks", "kubernetes", "docker"}

var intro = map[string]string{
	"en": "We are hiring a %s to join our team at %s. You will design and operate data pipelines that serve analytics and machine learning.",
	"de": "Wir suchen eine:n %s für unser Team bei %s. Du entwirfst und betreibst Datenpipelines für Analysen und maschinelles Lernen – größtenteils in der Cloud.",
	"pt": "Estamos contratando %s para integrar a equipe da %s. Você vai projetar e operar pipelines de dados para análises e aprendizado de máquina; experiência com ingestão é um diferencial.",
	"es": "Buscamos %s para unirse al equipo de %s. Diseñarás y operarás canalizaciones de datos para analítica y aprendizaje automático; se valorará experiencia en migración.",
}

var filler = map[string]string{
	"en": "Responsibilities include building batch and streaming jobs, modelling data, writing tests, reviewing code and mentoring colleagues. ",
	"de": "Zu den Aufgaben gehören Batch- und Streaming-Jobs, Datenmodellierung, Tests, Code-Reviews und die Betreuung von Kolleg:innen. ",
	"pt": "As responsabilidades incluem criar jobs em lote e streaming, modelar dados, escrever testes, revisar código e orientar colegas. ",
	"es": "Las responsabilidades incluyen crear procesos por lotes y en streaming, modelar datos, escribir pruebas, revisar código y guiar a compañeros. ",
}

func (g *Generator) pick(n int) int { return g.rng.IntN(n) }

func ptr[T any](v T) *T { return &v }

// Row returns the next posting, scraped at scrapedAt.
func (g *Generator) Row(scrapedAt time.Time) Row {
	id := fmt.Sprint(g.nextID)
	g.nextID++
	ro := roles[g.pick(len(roles))]
	pl := places[g.pick(len(places))]
	company := companies[g.pick(len(companies))]
	title := ro.title
	if g.pick(3) == 0 {
		title = seniorities[3] + " " + title
	}
	salaryText, sMin, sMax, period := g.salary(pl.currency)
	text := g.description(pl.lang, title, company, salaryText)
	posted := scrapedAt.Add(-time.Duration(g.pick(72*60)) * time.Minute)

	var skillList []string
	for _, i := range g.rng.Perm(len(skills))[:1+g.pick(6)] {
		skillList = append(skillList, skills[i])
	}
	r := Row{
		JobPostingID:            &id,
		SourceSystem:            ptr("linkedin"),
		URL:                     ptr("https://www.linkedin.com/jobs/view/" + id),
		ScrapedAt:               silver.TimeInt96(scrapedAt),
		CompanyName:             &company,
		CompanyID:               ptr(fmt.Sprint(1000 + g.pick(9000))),
		JobTitle:                &title,
		JobSeniorityLevel:       ptr(seniorities[g.pick(len(seniorities))]),
		JobFunction:             ptr(ro.function),
		JobEmploymentType:       ptr(employment[g.pick(len(employment))]),
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

// salary picks one of the formats seen in real postings: a structured range, an
// hourly rate, "120k" only in the text, or nothing at all.
func (g *Generator) salary(currency string) (text string, lo, hi *float64, period *string) {
	base := float64(60+g.pick(140)) * 1000
	switch g.pick(5) {
	case 0:
		return fmt.Sprintf("Salary: %s %.0f - %.0f per year.", currency, base, base*1.3), ptr(base), ptr(base * 1.3), ptr("YEARLY")
	case 1:
		rate := float64(40 + g.pick(80))
		return fmt.Sprintf("Pay: $%.0f/hr on a W2 basis.", rate), ptr(rate), ptr(rate + 15), ptr("HOURLY")
	case 2:
		return fmt.Sprintf("Compensation around %.0fk plus equity.", base/1000), nil, nil, nil
	case 3:
		return fmt.Sprintf("Faixa salarial: R$ %.0f a R$ %.0f por mês (CLT).", base/10, base/8), ptr(base / 10), ptr(base / 8), ptr("MONTHLY")
	}
	return "", nil, nil, nil
}

// description makes a short text (~300 characters), a typical one, or sometimes a
// long one over 12,000 characters, in the place's language.
func (g *Generator) description(lang, title, company, salary string) string {
	var b strings.Builder
	fmt.Fprintf(&b, intro[lang], title, company)
	b.WriteString(" ")
	repeats := 3 + g.pick(12)
	switch g.pick(10) {
	case 0:
		repeats = 0
	case 1:
		repeats = 110 // > 12,000 characters
	}
	for range repeats {
		b.WriteString(filler[lang])
	}
	if g.pick(2) == 0 {
		b.WriteString("Visa sponsorship is not available. ")
	}
	b.WriteString(salary)
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
