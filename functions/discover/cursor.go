package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// cursor is the persisted progress of discovery: every partition up to and including
// DoneThrough is fully written and published, so runs list only what comes after.
type cursor struct {
	DoneThrough string    `json:"done_through"`
	UpdatedAt   time.Time `json:"updated_at"`
	etag        string    // of the object read; "" when there was none
}

func (h *Handler) loadCursor(ctx context.Context) (cursor, error) {
	return readCursor(ctx, h.s3, h.opts.BronzeBucket, h.opts.CursorKey)
}

// Cursor is the last partition discovery has fully published ("" before the first
// one), as stored in Bronze: `enrichctl status` shows its lag.
func Cursor(ctx context.Context, client *s3.Client, bucket, key string) (string, error) {
	c, err := readCursor(ctx, client, bucket, key)
	return c.DoneThrough, err
}

func readCursor(ctx context.Context, client *s3.Client, bucket, key string) (cursor, error) {
	var c cursor
	etag, err := getJSON(ctx, client, bucket, key, &c)
	c.etag = etag
	return c, err
}

// getJSON decodes the JSON object at key into v and returns its ETag; a missing
// object leaves v alone and returns "".
func getJSON(ctx context.Context, client *s3.Client, bucket, key string, v any) (etag string, err error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var missing *types.NoSuchKey
	if errors.As(err, &missing) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return "", fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return "", fmt.Errorf("decoding s3://%s/%s: %w", bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// saveCursor writes done only if the cursor is still the one read, so two runs that
// overlap can never move it backwards.
func (h *Handler) saveCursor(ctx context.Context, read cursor, done string) error {
	body, err := json.Marshal(cursor{DoneThrough: done, UpdatedAt: h.now().UTC()})
	if err != nil {
		return fmt.Errorf("encoding cursor: %w", err)
	}
	in := &s3.PutObjectInput{
		Bucket:      aws.String(h.opts.BronzeBucket),
		Key:         aws.String(h.opts.CursorKey),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	}
	if read.etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(read.etag)
	}
	if _, err := h.s3.PutObject(ctx, in); err != nil {
		return fmt.Errorf("writing cursor s3://%s/%s: %w", h.opts.BronzeBucket, h.opts.CursorKey, err)
	}
	return nil
}
