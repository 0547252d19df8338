package auth

import (
	"context"
	"time"

	"github.com/berthlabs/berth/registry"
)

// StoreOption configures the Users and Robots stores.
type StoreOption func(*storeConfig)

type storeConfig struct {
	hooks  []func(context.Context, Change)
	now    func() time.Time
	hash   HashParams
	policy PasswordPolicy
	// hashBudget bounds concurrent hashes (hasher.go); idKey is argon2.IDKey
	// unless a test counts calls through it.
	hashBudget int64
	idKey      keyFunc
	// projects resolves project names to ids (robots_projects.go).
	projects Projects
}

func newStoreConfig(opts []StoreOption) storeConfig {
	c := storeConfig{now: time.Now, hash: DefaultHashParams(), policy: DefaultPasswordPolicy()}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithChangeHook calls fn after each committed change, in the caller's
// goroutine, for the audit log. Several hooks run in the order given. fn
// should be quick: the call that made the change waits for it.
func WithChangeHook(fn func(ctx context.Context, c Change)) StoreOption {
	return func(c *storeConfig) { c.hooks = append(c.hooks, fn) }
}

// WithClock sets the time source (default time.Now), for expiry and
// timestamps; tests pass a fake clock.
func WithClock(now func() time.Time) StoreOption {
	return func(c *storeConfig) { c.now = now }
}

// WithHashParams sets the argon2id cost of new password hashes (default
// DefaultHashParams). Stored hashes with other parameters keep working and
// are upgraded at the user's next successful login.
func WithHashParams(p HashParams) StoreOption {
	return func(c *storeConfig) { c.hash = p }
}

// WithPasswordPolicy sets the policy passwords must meet (default
// DefaultPasswordPolicy).
func WithPasswordPolicy(p PasswordPolicy) StoreOption {
	return func(c *storeConfig) { c.policy = p }
}

// ChangeKind names what changed.
type ChangeKind string

// The changes the stores report.
const (
	ChangeUserCreate   ChangeKind = "user-create"
	ChangeUserDelete   ChangeKind = "user-delete"
	ChangeUserAdmin    ChangeKind = "user-admin-change"
	ChangePassword     ChangeKind = "password-change"
	ChangeRobotCreate  ChangeKind = "robot-create"
	ChangeRobotUpdate  ChangeKind = "robot-update"
	ChangeRobotDelete  ChangeKind = "robot-delete"
	ChangeRobotRefresh ChangeKind = "robot-refresh"
)

// IsRobot reports whether k is a change to a robot account.
func (k ChangeKind) IsRobot() bool {
	switch k {
	case ChangeRobotCreate, ChangeRobotUpdate, ChangeRobotDelete, ChangeRobotRefresh:
		return true
	}
	return false
}

// Change describes one committed change to a user or robot account.
type Change struct {
	Kind   ChangeKind
	Name   string    // the user or robot changed
	Actor  string    // who did it: registry.ActorFrom(ctx), "" if unknown
	At     time.Time // when it was committed, by the store's clock
	Detail string    // e.g. "system_admin=true", "source=ldap"
}

func (c *storeConfig) emit(ctx context.Context, kind ChangeKind, name, detail string, at time.Time) {
	if len(c.hooks) == 0 {
		return
	}
	ch := Change{Kind: kind, Name: name, Actor: registry.ActorFrom(ctx), At: at, Detail: detail}
	for _, h := range c.hooks {
		h(ctx, ch)
	}
}
