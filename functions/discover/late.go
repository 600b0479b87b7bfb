package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aienrichment/ai-enrichment/functions/silver"
)

// seenKey is the Bronze key of the manifest of a partition's files already read.
func (h *Handler) seenKey(p silver.Partition) string {
	return path.Join(path.Dir(h.opts.CursorKey), "seen", p.String()+".json")
}

// manifest is the set of Silver keys of one partition discovery has published.
type manifest struct {
	Keys []string `json:"keys"`
}

func (h *Handler) loadSeen(ctx context.Context, p silver.Partition) (map[string]bool, error) {
	var m manifest
	if _, err := getJSON(ctx, h.s3, h.opts.BronzeBucket, h.seenKey(p), &m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", p, err)
	}
	seen := make(map[string]bool, len(m.Keys))
	for _, k := range m.Keys {
		seen[k] = true
	}
	return seen, nil
}

// saveSeen records the files of a partition whose jobs all went out. A lost write
// only means the next look-back reads them again (status filtering drops the jobs).
func (h *Handler) saveSeen(ctx context.Context, pf silver.PartitionFiles) {
	body, err := json.Marshal(manifest{Keys: pf.Keys})
	if err == nil {
		_, err = h.s3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(h.opts.BronzeBucket), Key: aws.String(h.seenKey(pf.Partition)),
			Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
		})
	}
	if err != nil {
		h.log.Warn("manifest not saved", "partition", pf.Partition.String(), "error", err.Error())
	}
}

// lateData publishes the files of the partitions within LateLookback up to the cursor
// that no earlier run read: whole partitions that landed behind the cursor, and files
// added to partitions it passed.
func (h *Handler) lateData(ctx context.Context, cursor string, res *Result) error {
	cur, err := silver.ParsePartition(cursor)
	if h.opts.LateLookback <= 0 || err != nil {
		return nil // no cursor yet: nothing is behind it
	}
	from := silver.Partition{Hour: cur.Hour.Add(-h.opts.LateLookback - time.Hour)}
	parts, err := h.silver.ListPartitions(ctx, h.opts.SilverPrefix, from.String(), int(h.opts.LateLookback/time.Hour)+1)
	if err != nil {
		return err
	}
	for _, pf := range parts {
		if pf.Partition.Hour.After(cur.Hour) {
			break
		}
		seen, err := h.loadSeen(ctx, pf.Partition)
		if err != nil {
			return err
		}
		late := silver.PartitionFiles{Partition: pf.Partition}
		for _, k := range pf.Keys {
			if !seen[k] {
				late.Keys = append(late.Keys, k)
			}
		}
		if len(late.Keys) == 0 {
			continue
		}
		res.LateFiles += len(late.Keys)
		finished, err := h.partition(ctx, late, false, res)
		if err != nil {
			return err
		}
		if finished {
			h.saveSeen(ctx, pf)
		}
	}
	return nil
}
