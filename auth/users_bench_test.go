package auth

import (
	"context"
	"testing"
)

// User Authenticate costs one argon2id hash with the default parameters
// (19 MiB, t=2, p=1): milliseconds by design.
func BenchmarkUserAuthenticate(b *testing.B) {
	ctx := context.Background()
	users, err := NewUsers(ctx, fileDB(b))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := users.Create(ctx, User{Name: "alice"}, "s3cret-pass"); err != nil {
		b.Fatal(err)
	}
	b.Run("ok", func(b *testing.B) {
		for b.Loop() {
			if _, err := users.Authenticate(ctx, "alice", "s3cret-pass"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			if _, err := users.Authenticate(ctx, "mallory", "s3cret-pass"); err == nil {
				b.Fatal("authenticated an unknown user")
			}
		}
	})
}
