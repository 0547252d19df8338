package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// passwords is a toy Authenticator; a server uses its Gatekeeper.
type passwords map[string]string

func (p passwords) BrowserLogin(_ context.Context, user, password, _ string) (string, []string, error) {
	if p[user] == "" || p[user] != password {
		return "", nil, fmt.Errorf("wrong password: %w", core.ErrDenied)
	}
	return user, nil, nil
}

func Example() {
	ctx := context.Background()
	db, _ := sqldb.OpenSQLiteMemory(ctx)
	defer db.Close()
	m, _ := session.New(ctx, db)

	mux := http.NewServeMux()
	mux.Handle("/c/", m.Handler(passwords{"alice": "Secret-1"}))
	mux.HandleFunc("/api/v2.0/projects", func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := m.Resolve(r)
		fmt.Fprintf(w, "%s by %s", r.Method, user)
	})
	h := m.Middleware(mux)
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	login := httptest.NewRequest("POST", "/c/login",
		strings.NewReader(url.Values{"principal": {"alice"}, "password": {"Secret-1"}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := serve(login)
	cookie, token := w.Result().Cookies()[0], w.Header().Get(session.CSRFHeader)
	fmt.Println("login:", w.Code, cookie.Name, cookie.HttpOnly, cookie.SameSite == http.SameSiteLaxMode)

	post := httptest.NewRequest("POST", "/api/v2.0/projects", nil)
	post.AddCookie(cookie)
	fmt.Println("without the token:", serve(post).Code)
	post.Header.Set(session.CSRFHeader, token)
	fmt.Println("with it:", serve(post).Body.String())
	// Output:
	// login: 200 sid true true
	// without the token: 403
	// with it: POST by alice
}
