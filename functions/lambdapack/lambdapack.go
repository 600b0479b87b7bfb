// Package lambdapack builds a Go Lambda function for provided.al2023 on arm64 and
// packs it into a deterministic zip, so unchanged code gives a byte-identical archive
// and `pulumi preview` shows no spurious code diff.
package lambdapack

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// epoch is the timestamp of the archive entry: the earliest date a zip can hold.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Build compiles the main package pkg (a path such as ./cmd/enrich-partition,
// relative to moduleDir) into a binary named bootstrap and returns its zip.
func Build(ctx context.Context, moduleDir, pkg string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "lambdapack-")
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build",
		"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc",
		"-ldflags", "-s -w -buildid=", "-o", bin, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	return Zip(b)
}

// Zip packs a bootstrap binary as the only entry of a zip with a fixed timestamp and
// mode.
func Zip(bootstrap []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: epoch}
	h.SetMode(0o755)
	f, err := w.CreateHeader(h)
	if err != nil {
		return nil, fmt.Errorf("zip bootstrap: %w", err)
	}
	if _, err := f.Write(bootstrap); err != nil {
		return nil, fmt.Errorf("zip bootstrap: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("zip bootstrap: %w", err)
	}
	return buf.Bytes(), nil
}

// Package builds functions/cmd/<fn> from the functions module at moduleDir and writes
// outDir/<fn>.zip, returning its path.
func Package(ctx context.Context, moduleDir, outDir, fn string) (string, error) {
	z, err := Build(ctx, moduleDir, "./cmd/"+fn)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("package %s: %w", fn, err)
	}
	path := filepath.Join(outDir, fn+".zip")
	if err := os.WriteFile(path, z, 0o644); err != nil {
		return "", fmt.Errorf("package %s: %w", fn, err)
	}
	return path, nil
}
