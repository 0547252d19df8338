package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berthlabs/berth/internal/testtool"
)

type binaries struct{ initdb, postgres string }

// findBinaries looks where Debian installs PostgreSQL's server programs
// (/usr/lib/postgresql/<version>/bin, not on PATH; the newest version
// wins), then on PATH. When they are missing the test fails under CI=true
// and is skipped loudly otherwise.
func findBinaries(t testing.TB) binaries {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int { return debianVersion(a) - debianVersion(b) })
	initdb := ""
	if len(found) > 0 {
		initdb = found[len(found)-1]
	} else if initdb = testtool.Require(t, "initdb"); initdb == "" {
		return binaries{} // skipped
	}
	// initdb may be a symlink onto PATH; postgres sits beside the real one.
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = real
	}
	postgres := filepath.Join(filepath.Dir(initdb), "postgres")
	if _, err := os.Stat(postgres); err != nil {
		t.Fatalf("pgtest: %s has no postgres beside it: %v", initdb, err)
	}
	return binaries{initdb: initdb, postgres: postgres}
}

// debianVersion is the <version> of /usr/lib/postgresql/<version>/bin/initdb.
func debianVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// serverUser returns whom to run the server as: nil (this process's user)
// unless that is root, which PostgreSQL refuses; then the "postgres" system
// user, or "nobody".
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}, nil
	}
	return nil, fmt.Errorf("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as")
}

// serverDir makes the server's directory under the temporary directory,
// owned by the server's user, after checking that user can reach it (a
// test's t.TempDir() is inside a 0700 directory of root's, so it is not
// used).
func serverDir(cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", "berth-pgtest-")
	if err != nil {
		return "", err
	}
	if cred == nil {
		return dir, nil
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%s is not searchable by uid %d, who runs PostgreSQL (the server refuses root); "+
				"set TMPDIR to a directory every user can reach, such as /tmp", p, cred.Uid)
		}
		if p == "/" || p == filepath.Dir(p) {
			return dir, nil
		}
	}
}

// runAs makes cmd run as cred (nil: this process's user) in dir, in the
// C locale.
func runAs(cmd *exec.Cmd, cred *syscall.Credential, dir string) {
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	env := []string{"LC_ALL=C"}
	for _, kv := range os.Environ() {
		// PG* variables (PGDATA, PGPORT...) would redirect the programs.
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
}
