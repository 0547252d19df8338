package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
)

// reader reads an object from pos with one ranged GET, opened lazily so a
// Seek costs no request: http.ServeContent seeks to the end to learn the
// size and back before it reads anything.
type reader struct {
	ctx  context.Context
	d    *Driver
	key  string
	size int64 // from Open's HEAD: blobs never change, only disappear
	pos  int64
	body io.ReadCloser // nil until a Read needs it; closed by Seek
}

func (r *reader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		rng := fmt.Sprintf("bytes=%d-", r.pos)
		out, err := r.d.client.GetObject(r.ctx, &s3sdk.GetObjectInput{Bucket: &r.d.bucket, Key: &r.key, Range: &rng})
		if err != nil {
			return 0, err
		}
		r.body = out.Body
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	if err == io.EOF && r.pos < r.size {
		err = io.ErrUnexpectedEOF // the response ended short: not the blob's end
	}
	return n, err
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	pos := offset
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		pos += r.pos
	case io.SeekEnd:
		pos += r.size
	default:
		return r.pos, errors.New("s3: invalid whence")
	}
	if pos < 0 {
		return r.pos, errors.New("s3: negative position")
	}
	if pos != r.pos {
		r.closeBody()
		r.pos = pos
	}
	return pos, nil
}

func (r *reader) Close() error {
	r.closeBody()
	return nil
}

func (r *reader) closeBody() {
	if r.body != nil {
		_ = r.body.Close() // an abandoned response body: nothing to report
		r.body = nil
	}
}
