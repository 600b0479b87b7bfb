package contract

import "strings"

// BronzePrefix is where every enrichment artefact lives in the Bronze bucket.
const BronzePrefix = "ai_enrichment/"

// ModelShort turns a model id into the short form used in Bronze keys: the id cut at
// the first ':' with '.' replaced by '-' (openai.gpt-oss-120b-1:0 → openai-gpt-oss-120b-1).
// An inference-profile prefix (us., eu., apac., global.) is dropped so the cache is
// shared between a model and its profile.
func ModelShort(modelID string) string {
	id := StripProfilePrefix(modelID)
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[:i]
	}
	return strings.ReplaceAll(id, ".", "-")
}

// SameModel reports whether two model ids name one model, directly or through a
// cross-region inference profile: the Bronze key already ignores the profile, so the
// cache must match on it the same way (issue 11, D1).
func SameModel(a, b string) bool { return StripProfilePrefix(a) == StripProfilePrefix(b) }

// StripProfilePrefix removes a cross-region inference profile prefix from a model id.
func StripProfilePrefix(modelID string) string {
	for _, p := range []string{"us.", "eu.", "apac.", "ap.", "jp.", "au.", "ca.", "us-gov.", "global."} {
		if strings.HasPrefix(modelID, p) {
			return modelID[len(p):]
		}
	}
	return modelID
}

// BronzeKey is the key of a pass's JSON result (the cache entry).
func BronzeKey(jobID string, pass Pass, modelID string) string {
	return BronzePrefix + jobID + "/" + string(pass) + "-" + ModelShort(modelID) + ".json"
}

// BronzeRawKey is the key of a pass's raw model text.
func BronzeRawKey(jobID string, pass Pass, modelID string) string {
	return BronzePrefix + jobID + "/" + string(pass) + "-" + ModelShort(modelID) + "-raw.txt"
}

// PostingKey is the key of the posting snapshot written by discovery.
func PostingKey(jobID string) string {
	return BronzePrefix + jobID + "/posting.json"
}
