package auth

import (
	"context"
	"testing"

	"github.com/berthlabs/berth/sqldb"
)

// Robot Authenticate is on the hot path of every Basic-auth request: one
// indexed read and one HMAC, microseconds.
func BenchmarkRobotAuthenticate(b *testing.B) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{"memory", memoryDB}, {"file", fileDB}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			robots := newTestRobots(b, tc.open(b))
			r, secret, err := robots.Create(ctx, Robot{Name: "ci", Project: "library", Permissions: pushPull("library")})
			if err != nil {
				b.Fatal(err)
			}
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					if _, err := robots.Authenticate(ctx, r.Name, secret); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := robots.Authenticate(ctx, r.Name, secret); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
