package enrich

import (
	"math"
	"strconv"
	"strings"
)

// enumKey folds a model's spelling of an enum value to the form the vocabularies use:
// lower case, spaces, dashes and slashes as underscores, apostrophes dropped.
func enumKey(s string) string {
	return enumFolder.Replace(strings.ToLower(strings.TrimSpace(s)))
}

var enumFolder = strings.NewReplacer(" ", "_", "-", "_", "/", "_", "'", "", "’", "")

// synonyms maps folded spellings seen in model answers to canonical values. A synonym
// only applies when its target belongs to the field's vocabulary.
var synonyms = map[string]string{
	"annual": "yearly", "annually": "yearly", "year": "yearly", "per_year": "yearly", "yr": "yearly",
	"month": "monthly", "per_month": "monthly",
	"hour": "hourly", "per_hour": "hourly", "hr": "hourly",
	"on_site": "onsite", "in_office": "onsite", "office": "onsite", "in_person": "onsite",
	"fully_remote": "remote", "remote_first": "remote",
	"fulltime": "full_time", "parttime": "part_time", "intern": "internship", "contractor": "contract",
	"permanent_full_time": "permanent", "temporary": "fixed_term", "temp": "fixed_term",
	"doctorate": "phd", "doctoral": "phd", "master": "masters", "masters_degree": "masters", "ms": "masters", "msc": "masters",
	"bachelor": "bachelors", "bachelors_degree": "bachelors", "ba": "bachelors", "bs": "bachelors", "bsc": "bachelors",
	"associate_degree": "associates", "high_school_diploma": "high_school", "ged": "high_school",
	"amazon_web_services": "aws", "microsoft_azure": "azure", "google_cloud": "gcp", "google_cloud_platform": "gcp", "oci": "oracle_cloud", "oracle": "oracle_cloud",
	"stated": "explicit", "direct": "explicit", "posting": "explicit",
	"pass1_derived": "previous_pass", "pass2_derived": "previous_pass", "pass2_inference": "previous_pass", "derived": "previous_pass",
	"mid_level": "mid", "midlevel": "mid", "entry_level": "entry", "lead": "senior",
	"none": "not_mentioned", "unknown": "not_mentioned", "not_specified": "not_mentioned", "not_stated": "not_mentioned", "n_a": "not_mentioned", "na": "not_mentioned",
}

// nullWords are answers that mean "no value" in free-text and enum fields.
var nullWords = map[string]bool{"": true, "null": true, "none": true, "n/a": true, "na": true, "not_mentioned": true, "not mentioned": true, "not specified": true, "unknown": true}

// canonicalEnum returns the vocabulary value matching s, if any.
func canonicalEnum(s string, vocab []string) (string, bool) {
	k := enumKey(s)
	for _, pass := range []string{k, synonyms[k]} {
		if pass == "" {
			continue
		}
		for _, v := range vocab {
			if strings.EqualFold(v, pass) {
				return v, true
			}
		}
	}
	return "", false
}

// parseNumber reads numbers models write as text: "120,000", "$120k", "1.5M", "80%".
// NaN and infinities are rejected.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "$€£¥R C")
	s = strings.ReplaceAll(s, ",", "")
	s = strings.ReplaceAll(s, "_", "")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "%"):
		mult, s = 0.01, strings.TrimSuffix(s, "%")
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1e6, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f * mult, true
}

// currencySymbols maps symbols and common names to ISO 4217 codes.
var currencySymbols = map[string]string{
	"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "R$": "BRL", "C$": "CAD", "CA$": "CAD",
	"A$": "AUD", "¥": "JPY", "₹": "INR", "DOLLARS": "USD", "EUROS": "EUR", "POUNDS": "GBP",
}

func normalizeCurrency(s string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if c, ok := currencySymbols[u]; ok {
		return c, true
	}
	if len(u) == 3 && isUpperASCII(u) {
		return u, true
	}
	return "", false
}

// countryAliases fixes the original's "UK" (ISO 3166 says GB) and common long forms.
var countryAliases = map[string]string{
	"UK": "GB", "GREAT BRITAIN": "GB", "UNITED KINGDOM": "GB", "ENGLAND": "GB",
	"USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
	"CANADA": "CA", "BRAZIL": "BR", "MEXICO": "MX", "GERMANY": "DE", "FRANCE": "FR", "INDIA": "IN",
}

func normalizeCountry(s string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if c, ok := countryAliases[u]; ok {
		return c, true
	}
	if len(u) == 2 && isUpperASCII(u) {
		return u, true
	}
	return "", false
}

func normalizeUSState(s string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if len(u) == 2 && isUpperASCII(u) {
		return u, true
	}
	return "", false
}

func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
