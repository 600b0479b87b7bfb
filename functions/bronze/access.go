package bronze

import (
	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// Statements are what a function using a Store needs: actions on the enrichment
// objects, and s3:ListBucket on the bucket. S3 answers a missing key with 404 only
// to callers allowed s3:ListBucket on the bucket, and 403 to the others (GetObject
// API reference, "Permissions"); the permission must hold without an s3:prefix
// condition, which a GetObject request never carries. Every cache miss and the first
// cursor read depend on that 404.
func Statements(st spec.Stack, actions ...string) []spec.Statement {
	b := st.Settings.BronzeBucket
	return []spec.Statement{
		{Sid: "BronzeObjects", Actions: actions, Resources: []string{st.Account.ObjectARN(b, contract.BronzePrefix+"*")}},
		{Sid: "BronzeList", Actions: []string{"s3:ListBucket"}, Resources: []string{st.Account.BucketARN(b)}},
	}
}
