package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/berthlabs/berth/ui"
)

// The portal over an API handler: here a stand-in that knows no session,
// so a page sends the browser to log in; the reference server passes its
// own handler (API, sessions and their middleware).
func Example() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2.0/systeminfo" {
			fmt.Fprint(w, `{"auth_mode":"db_auth"}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"log in first"}]}`)
	})
	portal, err := ui.New(api, ui.WithBasePath("/portal"))
	if err != nil {
		panic(err)
	}

	w := httptest.NewRecorder()
	portal.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/portal/projects", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))

	r := httptest.NewRequest(http.MethodGet, "/portal/login", nil)
	r.Header.Set("Accept-Language", "zh-CN,zh;q=0.9")
	w = httptest.NewRecorder()
	portal.ServeHTTP(w, r)
	fmt.Println(w.Code, regexp.MustCompile(`<h1>[^<]*</h1>`).FindString(w.Body.String()))
	// Output:
	// 303 /portal/login?next=%2Fportal%2Fprojects
	// 200 <h1>登录 berth</h1>
}
