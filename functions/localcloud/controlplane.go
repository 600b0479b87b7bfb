package localcloud

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/llm"
)

// ControlPlane answers the read-only control-plane calls `enrichctl preflight` makes
// and moto does not implement, from answers a test or `local up` sets:
//
//   - Bedrock ListFoundationModels (GET /foundation-models) and GetInferenceProfile
//     (GET /inference-profiles/{id}), Bedrock API Reference;
//   - Service Quotas ListServiceQuotas (JSON 1.1, ServiceQuotasV20190624), service code
//     bedrock;
//   - Lambda GetAccountSettings (GET /2016-08-19/account-settings/) and
//     GetFunctionConcurrency (GET /2019-09-30/functions/{name}/concurrency), Lambda API
//     Reference.
//
// It starts as an account that offers nothing: Offer adds a model the way an account
// with model access sees it, and each setter changes one answer so a test can make one
// preflight check fail.
type ControlPlane struct {
	mu       sync.Mutex
	models   map[string]FoundationModel
	profiles map[string]InferenceProfile
	quotas   map[string]Quota // by name
	account  AccountLimit
	// reservation answers GetFunctionConcurrency from the gateway's own functions
	// (Cloud.SetReservedConcurrency), the one record of what a function reserves.
	reservation func(name string) (n int, deployed bool)
}

// FoundationModel is one entry of ListFoundationModels.
type FoundationModel struct {
	ID             string
	Name           string
	Provider       string
	InferenceTypes []string // ON_DEMAND, INFERENCE_PROFILE, PROVISIONED
	Lifecycle      string   // ACTIVE or LEGACY
}

// InferenceProfile is the answer of GetInferenceProfile.
type InferenceProfile struct {
	ID       string
	ModelIDs []string // the foundation models it routes to
	Status   string   // ACTIVE
}

// Quota is one Service Quotas entry of service code bedrock.
type Quota struct {
	Code  string
	Name  string
	Value float64
}

// AccountLimit is Lambda GetAccountSettings' AccountLimit.
type AccountLimit struct {
	ConcurrentExecutions           int
	UnreservedConcurrentExecutions int
}

// Quotas Offer grants: generous, so only a test that lowers one sees a shortfall.
const (
	offeredRequestsPerMinute = 10_000
	offeredTokensPerMinute   = 10_000_000
)

func newControlPlane(reservation func(string) (int, bool)) *ControlPlane {
	return &ControlPlane{
		models:   map[string]FoundationModel{},
		profiles: map[string]InferenceProfile{},
		quotas:   map[string]Quota{},
		// The default quota of a new account (Lambda quotas, "Concurrent executions").
		account:     AccountLimit{ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000},
		reservation: reservation,
	}
}

// Offer makes each model id (or cross-Region inference profile id) available with
// its on-demand quotas, as in an account where model access is granted.
func (p *ControlPlane) Offer(ids ...string) {
	for _, id := range ids {
		base := contract.StripProfilePrefix(id)
		m := FoundationModel{ID: base, Name: ModelName(base), Provider: strings.SplitN(base, ".", 2)[0],
			InferenceTypes: []string{"ON_DEMAND"}, Lifecycle: "ACTIVE"}
		scope := "On-demand"
		if base != id {
			m.InferenceTypes = []string{"INFERENCE_PROFILE"}
			p.SetProfile(InferenceProfile{ID: id, ModelIDs: []string{base}, Status: "ACTIVE"})
			scope = "Cross-Region"
		}
		p.SetModel(m)
		p.SetQuota(Quota{Code: "L-RPM-" + base, Name: scope + " InvokeModel requests per minute for " + m.Name, Value: offeredRequestsPerMinute})
		p.SetQuota(Quota{Code: "L-TPM-" + base, Name: scope + " InvokeModel tokens per minute for " + m.Name, Value: offeredTokensPerMinute})
	}
}

// ModelName is the display name the local control plane gives a model: its base id
// without the provider ("gpt-oss-120b"), which quota names end with.
func ModelName(modelID string) string {
	base := llm.BaseModelID(modelID)
	if _, name, ok := strings.Cut(base, "."); ok {
		return name
	}
	return base
}

// SetModel adds or replaces a foundation model.
func (p *ControlPlane) SetModel(m FoundationModel) { p.locked(func() { p.models[m.ID] = m }) }

// RemoveModel makes a model unavailable in the Region.
func (p *ControlPlane) RemoveModel(id string) { p.locked(func() { delete(p.models, id) }) }

// SetProfile adds or replaces an inference profile.
func (p *ControlPlane) SetProfile(ip InferenceProfile) { p.locked(func() { p.profiles[ip.ID] = ip }) }

// RemoveProfile makes an inference profile unknown.
func (p *ControlPlane) RemoveProfile(id string) { p.locked(func() { delete(p.profiles, id) }) }

// SetQuota adds or replaces a Bedrock quota, by name.
func (p *ControlPlane) SetQuota(q Quota) { p.locked(func() { p.quotas[q.Name] = q }) }

// SetAccount sets Lambda's account concurrency.
func (p *ControlPlane) SetAccount(a AccountLimit) { p.locked(func() { p.account = a }) }

func (p *ControlPlane) locked(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

// serve answers a control-plane request and reports whether it was one.
func (p *ControlPlane) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") == "ServiceQuotasV20190624.ListServiceQuotas" {
		p.listServiceQuotas(w, r)
		return true
	}
	if r.Method != http.MethodGet {
		return false
	}
	parts := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "foundation-models":
		p.listFoundationModels(w)
	case len(parts) == 2 && parts[0] == "inference-profiles":
		id, err := url.PathUnescape(parts[1])
		if err != nil {
			return false
		}
		p.getInferenceProfile(w, id)
	case len(parts) == 2 && parts[0] == "2016-08-19" && parts[1] == "account-settings":
		p.getAccountSettings(w)
	case len(parts) == 4 && parts[0] == "2019-09-30" && parts[1] == "functions" && parts[3] == "concurrency":
		name, err := url.PathUnescape(parts[2])
		if err != nil {
			return false
		}
		p.getFunctionConcurrency(w, name)
	default:
		return false
	}
	return true
}

func (p *ControlPlane) listFoundationModels(w http.ResponseWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	type summary struct {
		ModelArn                string            `json:"modelArn"`
		ModelID                 string            `json:"modelId"`
		ModelName               string            `json:"modelName"`
		ProviderName            string            `json:"providerName"`
		InferenceTypesSupported []string          `json:"inferenceTypesSupported"`
		ModelLifecycle          map[string]string `json:"modelLifecycle"`
	}
	out := struct {
		ModelSummaries []summary `json:"modelSummaries"`
	}{ModelSummaries: []summary{}}
	for _, m := range p.models {
		out.ModelSummaries = append(out.ModelSummaries, summary{
			ModelArn: Account.FoundationModelARN(Region, m.ID), ModelID: m.ID, ModelName: m.Name,
			ProviderName: m.Provider, InferenceTypesSupported: m.InferenceTypes, ModelLifecycle: map[string]string{"status": m.Lifecycle},
		})
	}
	slices.SortFunc(out.ModelSummaries, func(a, b summary) int { return strings.Compare(a.ModelID, b.ModelID) })
	writeJSON(w, http.StatusOK, out)
}

func (p *ControlPlane) getInferenceProfile(w http.ResponseWriter, id string) {
	p.mu.Lock()
	ip, ok := p.profiles[id]
	p.mu.Unlock()
	if !ok {
		restError(w, http.StatusNotFound, "ResourceNotFoundException", "Inference profile "+id+" not found.")
		return
	}
	models := []map[string]string{}
	for _, m := range ip.ModelIDs {
		models = append(models, map[string]string{"modelArn": Account.FoundationModelARN(Region, m)})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"inferenceProfileId":   ip.ID,
		"inferenceProfileName": ip.ID,
		"inferenceProfileArn":  Account.InferenceProfileARN(ip.ID),
		"models":               models,
		"status":               ip.Status,
		"type":                 "SYSTEM_DEFINED",
	})
}

func (p *ControlPlane) listServiceQuotas(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ServiceCode string `json:"ServiceCode"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jsonError(w, "IllegalArgumentException", "malformed request: "+err.Error())
		return
	}
	if in.ServiceCode != "bedrock" {
		jsonError(w, "NoSuchResourceException", "the local cloud answers the quotas of service code bedrock only")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	type quota struct {
		ServiceCode string  `json:"ServiceCode"`
		QuotaCode   string  `json:"QuotaCode"`
		QuotaName   string  `json:"QuotaName"`
		Value       float64 `json:"Value"`
		Adjustable  bool    `json:"Adjustable"`
	}
	out := struct {
		Quotas []quota `json:"Quotas"`
	}{Quotas: []quota{}}
	for _, q := range p.quotas {
		out.Quotas = append(out.Quotas, quota{ServiceCode: "bedrock", QuotaCode: q.Code, QuotaName: q.Name, Value: q.Value, Adjustable: true})
	}
	slices.SortFunc(out.Quotas, func(a, b quota) int { return strings.Compare(a.QuotaName, b.QuotaName) })
	writeJSON(w, http.StatusOK, out)
}

func (p *ControlPlane) getAccountSettings(w http.ResponseWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"AccountLimit": map[string]int{
			"ConcurrentExecutions":           p.account.ConcurrentExecutions,
			"UnreservedConcurrentExecutions": p.account.UnreservedConcurrentExecutions,
		},
	})
}

func (p *ControlPlane) getFunctionConcurrency(w http.ResponseWriter, name string) {
	n, ok := p.reservation(name)
	if !ok {
		// Before its first deploy the function does not exist.
		restError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	if n == 0 { // no reservation: Lambda answers without the field
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": n})
}

// restError is a REST-JSON error: the SDK reads the code from X-Amzn-Errortype.
func restError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-Errortype", code)
	writeJSON(w, status, map[string]string{"message": msg, "Message": msg})
}

// jsonError is a JSON 1.1 protocol error: the code is the body's __type.
func jsonError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"__type": code, "message": msg})
}
