package bedrockemu

import "encoding/json"

// The Converse REST JSON shapes, as much of them as the emulator reads or writes.

type contentBlock struct {
	Text             *string           `json:"text,omitempty"`
	ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
}

type reasoningContent struct {
	ReasoningText reasoningText `json:"reasoningText"`
}

type reasoningText struct {
	Text string `json:"text"`
}

type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

type converseRequest struct {
	Messages        []message       `json:"messages"`
	System          []contentBlock  `json:"system"`
	InferenceConfig inferenceConfig `json:"inferenceConfig"`
	// Validated (validate.go); the emulator's answer does not depend on them.
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields,omitempty"`
	OutputConfig                 *outputConfig   `json:"outputConfig,omitempty"`
	ServiceTier                  *serviceTier    `json:"serviceTier,omitempty"`
}

type inferenceConfig struct {
	MaxTokens   *int     `json:"maxTokens"`
	Temperature *float64 `json:"temperature,omitempty"`
}

// maxTokens is the requested budget, 0 when none was sent.
func (c inferenceConfig) maxTokens() int {
	if c.MaxTokens == nil {
		return 0
	}
	return *c.MaxTokens
}

type outputConfig struct {
	TextFormat *struct {
		Type      string `json:"type"`
		Structure struct {
			JSONSchema *struct {
				Schema      string `json:"schema"`
				Name        string `json:"name,omitempty"`
				Description string `json:"description,omitempty"`
			} `json:"jsonSchema"`
		} `json:"structure"`
	} `json:"textFormat"`
}

type serviceTier struct {
	Type string `json:"type"`
}

type converseResponse struct {
	Output struct {
		Message message `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      struct {
		InputTokens  int `json:"inputTokens"`
		OutputTokens int `json:"outputTokens"`
		TotalTokens  int `json:"totalTokens"`
	} `json:"usage"`
	Metrics struct {
		LatencyMs int64 `json:"latencyMs"`
	} `json:"metrics"`
	// Labels every answer with where it came from (replay or offline).
	AdditionalModelResponseFields map[string]string `json:"additionalModelResponseFields"`
	ServiceTier                   *serviceTier      `json:"serviceTier,omitempty"`
}

func text(s string) contentBlock { return contentBlock{Text: &s} }

// texts joins the text blocks of content.
func texts(blocks []contentBlock) string {
	var out string
	for _, b := range blocks {
		if b.Text != nil {
			if out != "" {
				out += "\n"
			}
			out += *b.Text
		}
	}
	return out
}
