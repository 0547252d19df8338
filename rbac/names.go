package rbac

import "strings"

// Names follow the OCI distribution grammar: path components of lowercase
// letters and digits, joined inside a component by ".", "_", "__" or runs of
// "-", and separated by "/". A component can therefore never be "." or "..",
// which is what keeps a name from escaping its project.

const maxNameLength = 255

// validRepository reports whether name is a well-formed repository name.
func validRepository(name string) bool {
	if name == "" || len(name) > maxNameLength {
		return false
	}
	for {
		end := strings.IndexByte(name, '/')
		if end < 0 {
			return validComponent(name)
		}
		if !validComponent(name[:end]) {
			return false
		}
		name = name[end+1:]
	}
}

// validProject reports whether name is a well-formed project name: one
// repository path component.
func validProject(name string) bool {
	return len(name) <= maxNameLength && validComponent(name)
}

func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isAlnum(c[i]) {
			i++
		}
		if i == start {
			return false // empty, or starts/ends with a separator
		}
		if i == len(c) {
			return true
		}
		switch {
		case c[i] == '.':
			i++
		case c[i] == '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case c[i] == '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

func isAlnum(b byte) bool { return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' }

// projectOf returns the project of a repository: its first path component.
func projectOf(repository string) string {
	if i := strings.IndexByte(repository, '/'); i >= 0 {
		return repository[:i]
	}
	return repository
}
