package localcloud

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/spec"
)

// Operator credentials: the IAM user of AWSConfig, what a deployer (Pulumi, enrichctl
// --local) holds, allowed everything. They are the well-known local keys, so any tool
// pointed at the local cloud works as before; everything a handler or the state
// machine does runs under its own role instead (RoleConfig).
const (
	OperatorAccessKey = "test"
	OperatorSecretKey = "test"
)

// enableAccessControl creates the operator user on a fresh moto, then switches moto's
// IAM access control on: from then on every request must be signed by a known key
// and allowed by that principal's policies.
func (m *moto) enableAccessControl(ctx context.Context) error {
	body := fmt.Sprintf(`{"account":%q,"key":%q,"secret":%q}`, AccountID, OperatorAccessKey, OperatorSecretKey)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(m.authorizer, "/authorize")+"/operator", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("operator user: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("operator user: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("operator user: status %d", resp.StatusCode)
	}
	if err := m.post(ctx, "/moto-api/reset-auth", "0"); err != nil {
		return fmt.Errorf("enable access control: %w", err)
	}
	return nil
}

// CreateRoles creates each role with its trust policy and one inline policy, as the
// Pulumi program does.
func CreateRoles(ctx context.Context, cfg aws.Config, roles []spec.Role) error {
	c := iam.NewFromConfig(cfg)
	for _, r := range roles {
		policy, err := r.Policy()
		if err != nil {
			return err
		}
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(r.Name), AssumeRolePolicyDocument: aws.String(r.TrustPolicy()),
		}); err != nil {
			return fmt.Errorf("create role %s: %w", r.Name, err)
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String(r.Name), PolicyName: aws.String("least-privilege"), PolicyDocument: aws.String(policy),
		}); err != nil {
			return fmt.Errorf("policy of role %s: %w", r.Name, err)
		}
	}
	return nil
}

// RoleConfig is an SDK configuration whose every call runs with the credentials of
// role, assumed from STS the way its service (Lambda, Step Functions) assumes it. The
// role must exist (CreateRoles or Provision).
func (c *Cloud) RoleConfig(ctx context.Context, r spec.Role) (aws.Config, error) {
	cfg, err := c.AWSConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), Account.RoleARN(r.Name), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.Service // the launcher checks the trust policy against it
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("assume role %s: %w", r.Name, err)
	}
	return cfg, nil
}

// authorizer asks the launcher whether the caller of a request may do action on
// resource, with the policies moto holds (the same evaluation as every moto call).
type authorizer struct {
	url string
}

// errDenied carries the AWS AccessDenied message naming principal, action and resource.
type errDenied struct{ message string }

func (e errDenied) Error() string { return e.message }

func (a authorizer) authorize(ctx context.Context, r *http.Request, action, resource string) error {
	return a.ask(ctx, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token"), action, resource)
}

// allows asks the same about the holder of creds, for calls a service makes on a
// role's behalf (an event source mapping polling with the execution role).
func (a authorizer) allows(ctx context.Context, creds aws.Credentials, action, resource string) error {
	return a.ask(ctx, "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/", creds.SessionToken, action, resource)
}

func (a authorizer) ask(ctx context.Context, authorization, token, action, resource string) error {
	body, err := json.Marshal(map[string]string{
		"account": AccountID, "authorization": authorization, "token": token,
		"action": action, "resource": resource,
	})
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Message string `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&answer); err != nil {
		return fmt.Errorf("authorize: decode answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return errDenied{answer.Message}
}

// guard answers a denied call as the service does (403 AccessDeniedException, JSON),
// and anything else that stops the authorization as a 500. ok means go on.
func (a authorizer) guard(w http.ResponseWriter, r *http.Request, action, resource string) (ok bool) {
	err := a.authorize(r.Context(), r, action, resource)
	if err == nil {
		return true
	}
	status, code := http.StatusInternalServerError, "ServiceException"
	var denied errDenied
	if errors.As(err, &denied) {
		status, code = http.StatusForbidden, "AccessDeniedException"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("X-Amzn-RequestId", rand.Text()) // clients (moto's among them) read it
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": err.Error(), "Type": "User"})
	return false
}

// modelResources are the ARNs bedrock:InvokeModel is authorised on for a Converse
// call on modelID: the foundation model, or an inference profile and the model it
// routes to (Bedrock user guide, "Prerequisites for inference profiles").
func modelResources(modelID string) []string {
	if id, err := url.PathUnescape(modelID); err == nil {
		modelID = id
	}
	if strings.HasPrefix(modelID, "arn:") {
		return []string{modelID}
	}
	base := contract.StripProfilePrefix(modelID)
	if base == modelID {
		return []string{Account.FoundationModelARN(Region, modelID)}
	}
	return []string{Account.InferenceProfileARN(modelID), Account.FoundationModelARN(Region, base)}
}
