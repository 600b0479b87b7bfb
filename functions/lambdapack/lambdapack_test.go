package lambdapack

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildIsByteIdentical(t *testing.T) {
	ctx := context.Background()
	first, err := Build(ctx, "..", "./lambdapack/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	second, err := Build(ctx, "..", "./lambdapack/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("two builds differ: %d and %d bytes", len(first), len(second))
	}

	bin := unzipOnly(t, first)
	// An arm64 Linux ELF: magic, then e_machine = 0xB7 (AArch64) at offset 18.
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) || bin[18] != 0xB7 {
		t.Errorf("bootstrap is not an arm64 ELF binary: % x", bin[:20])
	}
}

func TestZipEntry(t *testing.T) {
	z, err := Zip([]byte("binary"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	f := r.File[0]
	if f.Name != "bootstrap" || f.Mode().Perm() != 0o755 || !f.Modified.Equal(epoch) {
		t.Errorf("entry %q mode %v modified %v", f.Name, f.Mode(), f.Modified)
	}
	if got := unzipOnly(t, z); string(got) != "binary" {
		t.Errorf("content %q", got)
	}
}

func TestPackageWritesZip(t *testing.T) {
	out := t.TempDir()
	if err := os.MkdirAll(filepath.Join(out, "mod", "cmd", "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"mod/go.mod":         "module example.com/fn\n\ngo 1.26\n",
		"mod/cmd/fn/main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GOWORK", "off")
	path, err := Package(context.Background(), filepath.Join(out, "mod"), filepath.Join(out, "dist"), "fn")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "fn.zip" {
		t.Errorf("path %s", path)
	}
	z, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unzipOnly(t, z)
}

func TestBuildReportsCompileErrors(t *testing.T) {
	if _, err := Build(context.Background(), "..", "./lambdapack/testdata/missing"); err == nil {
		t.Fatal("want an error for a package that does not exist")
	}
}

// unzipOnly returns the content of the archive's single entry.
func unzipOnly(t *testing.T, z []byte) []byte {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != 1 {
		t.Fatalf("want one entry, got %d", len(r.File))
	}
	rc, err := r.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
