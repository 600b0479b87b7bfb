module github.com/aienrichment/ai-enrichment/functions/contract

go 1.26
