// Command lambdapack writes a deterministic bootstrap zip per Lambda function:
// `lambdapack -out ../dist enrich-partition cleanup-locks`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aienrichment/ai-enrichment/functions/lambdapack"
)

func main() {
	out := flag.String("out", "dist", "directory the zips are written to")
	dir := flag.String("dir", ".", "the functions module directory")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: lambdapack [-out dir] [-dir module] function...")
		os.Exit(2)
	}
	for _, fn := range flag.Args() {
		path, err := lambdapack.Package(context.Background(), *dir, *out, fn)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		st, err := os.Stat(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%d bytes\n", path, st.Size())
	}
}
