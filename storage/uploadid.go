package storage

import "crypto/rand"

// NewUploadID returns a fresh upload session ID: 130 random bits as 26
// characters of the base32 alphabet, safe in URLs and file paths. Every
// driver uses it, so IDs look the same whatever the backend.
func NewUploadID() string { return rand.Text() }

// ValidUploadID reports whether id has NewUploadID's form. Drivers check it
// before an ID reaches a path or key, so "../x" and friends never do.
func ValidUploadID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, c := range []byte(id) {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
