package offline

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// facts are what the offline model finds in a posting.
type facts struct {
	title, location       string
	pay                   *pay
	visa, visaText        string
	workModel, employment string
	seniority, family     string
	skills, clouds        []string
	years                 *float64
	education             string
	genAI                 bool
}

// pay is a salary or rate stated in the description.
type pay struct {
	min, max float64
	currency string // ISO 4217, "" when the text names none
	period   string // yearly, monthly or hourly
	text     string // the words it was read from
}

var postingBlock = regexp.MustCompile(`(?s)<job_posting id="\d+">\n(.*?)\n</job_posting>`)

func read(user string) facts {
	var f facts
	body := user
	if m := postingBlock.FindStringSubmatch(user); m != nil {
		body = m[1]
	}
	header, description, _ := strings.Cut(body, "\nDescription:\n")
	for _, l := range strings.Split(header, "\n") {
		if v, ok := strings.CutPrefix(l, "Title: "); ok {
			f.title = v
		} else if v, ok := strings.CutPrefix(l, "Location: "); ok {
			f.location = v
		}
	}
	// Pay, visa and skills are read from the description only: the header's listed
	// columns are not text the posting states.
	f.pay = readPay(description)
	text := strings.ToLower(description)
	f.visa, f.visaText = readVisa(description)
	all := strings.ToLower(body)
	f.workModel = firstKeyword(all, "not_mentioned",
		"remote", "remote", "remoto", "remote", "hybrid", "hybrid", "híbrido", "hybrid",
		"on-site", "onsite", "onsite", "onsite", "vor ort", "onsite", "presencial", "onsite")
	f.employment = firstKeyword(all, "not_mentioned",
		"full-time", "full_time", "full time", "full_time", "part-time", "part_time", "contract", "contract",
		"temporary", "contract", "internship", "internship")
	for _, s := range skills {
		if hasWord(text, s.key) {
			f.skills = append(f.skills, s.name)
		}
	}
	for _, c := range clouds {
		if hasWord(text, c.key) && !slices.Contains(f.clouds, c.cloud) {
			f.clouds = append(f.clouds, c.cloud)
		}
	}
	if m := yearsPattern.FindStringSubmatch(text); m != nil {
		y, _ := strconv.ParseFloat(m[1], 64)
		f.years = &y
	}
	f.education = firstKeyword(text, "", "phd", "PHD", "master", "MASTERS", "bachelor", "BACHELORS")
	for _, k := range []string{"llm", "genai", "generative ai", "gpt", "rag"} {
		f.genAI = f.genAI || hasWord(text, k)
	}
	title := strings.ToLower(f.title)
	f.seniority = "mid"
	for _, s := range seniorityWords {
		if hasWord(title, s.key) {
			f.seniority = s.level
			break
		}
	}
	f.family = firstKeyword(title, "data_engineer", "analytics engineer", "analytics_engineer", "machine learning", "ml_engineer", "ml engineer", "ml_engineer",
		"platform", "data_platform_engineer", "scientist", "data_scientist", "analyst", "data_analyst", "architect", "data_architect", "bi ", "bi_engineer")
	return f
}

// seniorityWords map title words to pass2's seniority vocabulary, most specific first.
var seniorityWords = []struct{ key, level string }{
	{"intern", "intern"}, {"junior", "junior"}, {"jr", "junior"}, {"associate", "associate"},
	{"distinguished", "distinguished"}, {"principal", "principal"}, {"staff", "staff"},
	{"senior", "senior"}, {"sr", "senior"}, {"lead", "senior"},
}

// skills are the keywords the offline model recognises, with display names.
var skills = []struct{ key, name string }{
	{"python", "Python"}, {"sql", "SQL"}, {"spark", "Spark"}, {"airflow", "Airflow"}, {"dbt", "dbt"},
	{"kafka", "Kafka"}, {"snowflake", "Snowflake"}, {"databricks", "Databricks"}, {"scala", "Scala"},
	{"java", "Java"}, {"go", "Go"}, {"tableau", "Tableau"}, {"power bi", "Power BI"}, {"terraform", "Terraform"},
	{"docker", "Docker"}, {"kubernetes", "Kubernetes"}, {"redshift", "Redshift"}, {"bigquery", "BigQuery"},
}

var clouds = []struct{ key, cloud string }{
	{"aws", "aws"}, {"amazon web services", "aws"}, {"azure", "azure"}, {"gcp", "gcp"}, {"google cloud", "gcp"}, {"bigquery", "gcp"},
}

var yearsPattern = regexp.MustCompile(`(\d{1,2})\+?\s*(?:years|yrs|jahre|anos|años)`)

// Money in the forms postings use: "USD 152000 - 197600", "$105,000 - $140,000",
// "R$ 6100 a R$ 7625", "£55k–£70k", "$67/hr", "around 172k".
const (
	currencyToken = `(R\$|[$€£]|\b[A-Z]{3}\b)`
	amount        = `(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?([kK]\b)?`
)

var (
	moneyRange = regexp.MustCompile(currencyToken + `\s?` + amount + `\s*(?:-|–|to|a|bis)\s*` + currencyToken + `?\s?` + amount + `(?:\s?` + currencyToken + `)?`)
	moneyRate  = regexp.MustCompile(currencyToken + `\s?` + amount + `\s*(?:/\s?(?:hr|hour|h)\b|per hour|an hour)`)
	moneyAbout = regexp.MustCompile(`(?i)\b(?:around|about|approximately|circa|~)\s*` + currencyToken + `?\s?(\d+(?:\.\d+)?)\s?k\b`)
)

// currencies maps what postings write to ISO 4217 codes; three-letter words not in it
// (CLT, W2) are not money.
var currencies = map[string]string{
	"$": "USD", "€": "EUR", "£": "GBP", "R$": "BRL",
	"USD": "USD", "EUR": "EUR", "GBP": "GBP", "BRL": "BRL", "MXN": "MXN", "COP": "COP",
	"CAD": "CAD", "AUD": "AUD", "CHF": "CHF", "INR": "INR",
}

// periods are the words after an amount that say what it pays for.
var periods = []struct{ key, period string }{
	{"per hour", "hourly"}, {"/hr", "hourly"}, {"an hour", "hourly"}, {"por hora", "hourly"},
	{"per month", "monthly"}, {"a month", "monthly"}, {"por mês", "monthly"}, {"al mes", "monthly"}, {"pro monat", "monthly"}, {"/mo", "monthly"},
	{"per year", "yearly"}, {"per annum", "yearly"}, {"a year", "yearly"}, {"annually", "yearly"}, {"/yr", "yearly"},
	{"pro jahr", "yearly"}, {"por ano", "yearly"}, {"al año", "yearly"},
}

func readPay(text string) *pay {
	for _, loc := range moneyRange.FindAllStringSubmatchIndex(text, -1) {
		m := submatches(text, loc)
		cur := firstCurrency(m[1], m[4], m[7])
		if cur == "" { // "CLT 2024 - 2025" names no money
			continue
		}
		lo, hi := money(m[2], m[3]), money(m[5], m[6])
		if m[3] == "" && m[6] != "" { // "$150-180k"
			lo *= 1000
		}
		return finish(&pay{min: lo, max: hi, currency: cur, text: text[loc[0]:loc[1]]}, text[loc[1]:])
	}
	for _, loc := range moneyRate.FindAllStringSubmatchIndex(text, -1) {
		m := submatches(text, loc)
		if cur := currencies[m[1]]; cur != "" {
			v := money(m[2], m[3])
			return &pay{min: v, max: v, currency: cur, period: "hourly", text: text[loc[0]:loc[1]]}
		}
	}
	if loc := moneyAbout.FindStringSubmatchIndex(text); loc != nil {
		m := submatches(text, loc)
		v := money(m[2], "k")
		return finish(&pay{min: v, max: v, currency: currencies[m[1]], text: text[loc[0]:loc[1]]}, text[loc[1]:])
	}
	return nil
}

// finish sets the period from the words following the amount, else from its size.
func finish(p *pay, after string) *pay {
	after = strings.ToLower(after[:min(len(after), 24)])
	for _, w := range periods {
		if strings.Contains(after, w.key) {
			p.period = w.period
			return p
		}
	}
	p.period = "yearly"
	if p.max < 1000 {
		p.period = "hourly"
	}
	return p
}

func submatches(s string, loc []int) []string {
	out := make([]string, len(loc)/2)
	for i := range out {
		if loc[2*i] >= 0 {
			out[i] = s[loc[2*i]:loc[2*i+1]]
		}
	}
	return out
}

func firstCurrency(tokens ...string) string {
	for _, t := range tokens {
		if c, ok := currencies[t]; ok {
			return c
		}
	}
	return ""
}

func money(num, k string) float64 {
	v, _ := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
	if k != "" {
		v *= 1000
	}
	return v
}

// visaStatements are the sentences that state sponsorship, negative ones first.
var visaStatements = []struct{ key, value string }{
	{"sponsorship is not available", "will_not_sponsor"}, {"not able to sponsor", "will_not_sponsor"},
	{"cannot sponsor", "will_not_sponsor"}, {"no visa sponsorship", "will_not_sponsor"},
	{"must be authorized to work", "must_be_authorized"}, {"must have the right to work", "must_be_authorized"},
	{"sponsorship is available", "will_sponsor"}, {"will sponsor", "will_sponsor"}, {"we sponsor", "will_sponsor"},
}

var sentenceEnd = regexp.MustCompile(`[.!?](\s|$)`)

func readVisa(text string) (value, sentence string) {
	lower := strings.ToLower(text)
	for _, v := range visaStatements {
		i := strings.Index(lower, v.key)
		if i < 0 {
			continue
		}
		start := max(strings.LastIndexAny(text[:i], ".!?\n")+1, 0)
		end := len(text)
		if loc := sentenceEnd.FindStringIndex(text[i:]); loc != nil {
			end = i + loc[0] + 1
		}
		return v.value, strings.TrimSpace(text[start:end])
	}
	return "not_mentioned", ""
}

// firstKeyword returns the value paired with the first keyword found in text, or def.
// pairs alternate keyword, value.
func firstKeyword(text, def string, pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Contains(text, pairs[i]) {
			return pairs[i+1]
		}
	}
	return def
}

// hasWord reports whether word occurs in text not as part of a longer word.
func hasWord(text, word string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isWordByte(text[start-1])) && (end == len(text) || !isWordByte(text[end])) {
			return true
		}
		i = end
	}
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
