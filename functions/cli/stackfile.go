package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/stacks"
)

// EnvRepo names the checkout whose stack files enrichctl reads when it runs outside
// one.
const EnvRepo = "ENRICHCTL_REPO"

// stackSettings loads the settings of a stack from its Pulumi.<stack>.yaml.
func stackSettings(stack string) (stacks.Settings, error) {
	b, _, err := stackFile(stack)
	if err != nil {
		return stacks.Settings{}, err
	}
	return stacks.Load(stack, b)
}

// stackFile reads Pulumi.<stack>.yaml from the checkout: $ENRICHCTL_REPO when set,
// else the checkout above the working directory, else the one above the enrichctl
// binary (so a binary built into the checkout works from anywhere).
func stackFile(stack string) ([]byte, string, error) {
	if err := stacks.CheckName(stack); err != nil {
		return nil, "", usageErr("--stack: %v", err)
	}
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(root, "Pulumi."+stack+".yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("read stack settings: %w", err)
	}
	return b, path, nil
}

func repoRoot() (string, error) {
	if dir := os.Getenv(EnvRepo); dir != "" {
		if !isRepo(dir) {
			return "", usageErr("%s=%s: no Pulumi.yaml there", EnvRepo, dir)
		}
		return dir, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if isRepo(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", usageErr("the stack files (Pulumi.<stack>.yaml) were not found above the working directory or the enrichctl binary: "+
		"run it inside the %s checkout or set %s to the checkout", contract.Project, EnvRepo)
}

func isRepo(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "Pulumi.yaml"))
	return err == nil
}
