package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/deploy/image/internal/assemble"
)

// workspaceRoot is the nearest directory at or above the working
// directory holding go.work.
func workspaceRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory: give -src, the repository root")
		}
		dir = parent
	}
}

// metaOf fills the labels and the time every file and config carries.
func metaOf(ctx context.Context, o options) (assemble.Meta, error) {
	m := assemble.Meta{Version: o.version, Revision: o.revision}
	if m.Revision == "" {
		m.Revision = git(ctx, o.src, "rev-parse", "HEAD")
	}
	switch {
	case o.epoch != nil:
		m.Created = *o.epoch
	case os.Getenv("SOURCE_DATE_EPOCH") != "":
		s, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970: %w", os.Getenv("SOURCE_DATE_EPOCH"), err)
		}
		m.Created = time.Unix(s, 0)
	default:
		if s, err := strconv.ParseInt(git(ctx, o.src, "log", "-1", "--format=%ct"), 10, 64); err == nil {
			m.Created = time.Unix(s, 0)
		}
	}
	return m, nil
}

// git runs git in dir and returns its trimmed output, "" on any failure
// (a source tree need not be a checkout).
func git(ctx context.Context, dir string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
