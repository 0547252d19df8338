package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Record is one row of an export: one finding in one artifact.
type Record struct {
	Project     string
	Repository  string // the full name, project/...
	Digest      string
	Tags        []string
	CVE         string
	Package     string
	Version     string
	FixVersion  string
	Severity    string
	CVSSv3      float64 // 0: unknown
	VectorV3    string
	CWEIDs      []string
	Description string
}

// Header is the first row of every export's CSV.
func Header() []string {
	return []string{"Project", "Repository", "Digest", "Tags", "CVE", "Package", "Version", "Fixed Version", "Severity",
		"CVSS3 Score", "CVSS3 Vector", "CWE IDs", "Description"}
}

func (r Record) cells() []string {
	score := ""
	if r.CVSSv3 > 0 {
		score = strconv.FormatFloat(r.CVSSv3, 'f', -1, 64)
	}
	out := []string{r.Project, r.Repository, r.Digest, strings.Join(r.Tags, ","), r.CVE, r.Package, r.Version, r.FixVersion,
		r.Severity, score, r.VectorV3, strings.Join(r.CWEIDs, ","), r.Description}
	for i, c := range out {
		out[i] = textCell(c)
	}
	return out
}

// textCell keeps a spreadsheet from reading a cell as a formula.
func textCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ErrTooLarge is what emit returns once an export's file would exceed
// MaxFileBytes.
var ErrTooLarge = fmt.Errorf("the export is larger than %d MiB: narrow it (repositories, tags, CVE IDs or labels)", MaxFileBytes>>20)

// Produce emits the records of an export; emit fails once the file is
// full, and produce should then return that error.
type Produce func(ctx context.Context, emit func(Record) error) error

// Run records an execution of c for o, lets produce emit its records
// within the Store's timeout, and stores the file: the execution is then a
// success, or, when produce failed, the file grew past MaxFileBytes or
// time ran out, an error saying so. The returned error is the Store's
// only (the execution could not be recorded); produce's is in the
// execution's StatusText.
func (s *Store) Run(ctx context.Context, o Owner, c Criteria, produce Produce) (Execution, error) {
	e, err := s.start(ctx, o, c)
	if err != nil {
		return e, err
	}
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(Header()) // a bytes.Buffer does not fail
	n := 0
	err = produce(pctx, func(r Record) error {
		if err := pctx.Err(); err != nil {
			return err
		}
		_ = w.Write(r.cells())
		w.Flush()
		if buf.Len() > MaxFileBytes {
			return ErrTooLarge
		}
		n++
		return nil
	})
	w.Flush()
	done := context.WithoutCancel(ctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		err = fmt.Errorf("the export took longer than %s: narrow it (repositories, tags, CVE IDs or labels)", s.timeout)
	case err == nil:
		if err := s.end(done, e.ID, Success, "", buf.Bytes(), n); err != nil {
			return e, err
		}
		return s.Get(done, e.ID)
	}
	if err := s.end(done, e.ID, Error, err.Error(), nil, 0); err != nil {
		return e, err
	}
	return s.Get(done, e.ID)
}
