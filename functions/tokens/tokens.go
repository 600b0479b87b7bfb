// Package tokens counts text tokens offline with OpenAI's o200k_base encoding, the
// tokenizer of gpt-oss (the default model). The encoding is embedded in the binary, so
// counting needs no network. Other model families tokenize differently: for them the
// count is an estimate of the same order.
package tokens

import (
	"fmt"
	"sync"

	tiktoken "github.com/pkoukk/tiktoken-go"
	loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding is the name of the encoding used.
const Encoding = "o200k_base"

var (
	once    sync.Once
	enc     *tiktoken.Tiktoken
	loadErr error
)

// load reads the embedded encoding once per process (about 0.5 s).
func load() (*tiktoken.Tiktoken, error) {
	once.Do(func() {
		tiktoken.SetBpeLoader(loader.NewOfflineLoader())
		enc, loadErr = tiktoken.GetEncoding(Encoding)
		if loadErr != nil {
			loadErr = fmt.Errorf("tokens: load %s: %w", Encoding, loadErr)
		}
	})
	return enc, loadErr
}

// Count returns the number of o200k_base tokens of s. Special-token text (such as
// "<|endoftext|>") in s is counted as ordinary text, as a posting's text would be.
func Count(s string) (int, error) {
	e, err := load()
	if err != nil {
		return 0, err
	}
	return len(e.EncodeOrdinary(s)), nil
}
