package token_test

import (
	"fmt"

	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/registry"
)

func Example() {
	key, err := token.GenerateKey() // P-256; persist it with SaveKey or LoadOrCreateKey
	if err != nil {
		panic(err)
	}
	svc, err := token.New("https://reg.example.com/service/token", "reg.example.com",
		token.WithSigningKey(key, ""))
	if err != nil {
		panic(err)
	}

	pull := registry.Access{Type: registry.ResourceRepository, Name: "library/nginx", Actions: []string{registry.ActionPull}}
	tok, err := svc.Issue("alice", []registry.Access{pull})
	if err != nil {
		panic(err)
	}
	fmt.Println("expires in", tok.ExpiresIn, "seconds")

	claims, err := svc.Verify(tok.Raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, token.FormatScope(claims.Access))
	fmt.Println("pull:", claims.Allows([]registry.Access{pull}))

	push := registry.Access{Type: registry.ResourceRepository, Name: "library/nginx", Actions: []string{registry.ActionPush}}
	fmt.Println("push:", claims.Allows([]registry.Access{push}))
	fmt.Println(token.Challenge("https://reg.example.com/service/token", "reg.example.com",
		[]registry.Access{push}, token.ErrCodeInsufficientScope))
	// Output:
	// expires in 300 seconds
	// alice repository:library/nginx:pull
	// pull: <nil>
	// push: token: insufficient scope: missing repository:library/nginx:push
	// Bearer realm="https://reg.example.com/service/token",service="reg.example.com",scope="repository:library/nginx:push",error="insufficient_scope"
}
