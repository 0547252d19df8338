package api

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// codeUnsupportedMediaType is Harbor's code for 415 answers.
const codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"

// requireJSON refuses a request body that is not declared application/json
// (parameters such as charset allowed). A page of another site can make a
// browser POST text/plain or form-encoded bodies without a CORS preflight,
// never application/json; insisting on it keeps such a page from sending
// the API a JSON body with the browser's credentials. An empty body needs
// no type: decodeBody then answers as it does to any empty body. body is
// the request body, read through a buffer here when the type is wrong.
func requireJSON(r *http.Request, body *limitedBody) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	peek := bufio.NewReaderSize(body.r, 16)
	body.r = peek
	if _, err := peek.Peek(1); err == io.EOF {
		return nil
	}
	what := "no Content-Type"
	if ct != "" {
		what = fmt.Sprintf("Content-Type %q", ct)
	}
	return &apiError{Status: http.StatusUnsupportedMediaType, Code: codeUnsupportedMediaType,
		Message: "the request body has " + what + "; send it as application/json"}
}
