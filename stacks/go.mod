module github.com/aienrichment/ai-enrichment/stacks

go 1.26
