package rbac

import "strconv"

// tokenAction maps an action of a registry token scope
// ("repository:<name>:pull,push,delete") to a permission on the repository.
func tokenAction(a string) (Permission, bool) {
	switch a {
	case "pull", "push", "delete":
		return Permission{ResourceRepository, Action(a)}, true
	}
	return Permission{}, false
}

// RepositoryActions answers a token request for one repository: which of the
// requested registry actions ("pull", "push", "delete", or "*" for all three)
// p may perform there. The repository's project is its first path component.
//
// granted holds the allowed actions in request order, without duplicates; a
// "*" is granted as "*" only when all three actions are allowed, and
// otherwise as the ones that are. reasons[i] explains requested[i]; an
// unknown action is never granted.
func (e *Engine) RepositoryActions(p Principal, repository string, requested []string) (granted, reasons []string) {
	reasons = make([]string, len(requested))
	seen := make(map[string]bool, 3)
	grant := func(a string) {
		if !seen[a] {
			seen[a] = true
			granted = append(granted, a)
		}
	}
	for i, a := range requested {
		if a == "*" {
			// The reason is the first denial, or delete's (the strongest) allowance.
			var ok []string
			for _, each := range []string{"pull", "push", "delete"} {
				perm, _ := tokenAction(each)
				d := e.Decide(p, "", repository, perm)
				if d.Allowed {
					ok = append(ok, each)
				} else if reasons[i] == "" {
					reasons[i] = d.Reason
				}
				if each == "delete" && reasons[i] == "" {
					reasons[i] = d.Reason
				}
			}
			if len(ok) == 3 {
				grant("*")
				continue
			}
			for _, each := range ok {
				grant(each)
			}
			continue
		}
		perm, known := tokenAction(a)
		if !known {
			reasons[i] = "denied: unknown registry action " + strconv.Quote(a)
			continue
		}
		d := e.Decide(p, "", repository, perm)
		reasons[i] = d.Reason
		if d.Allowed {
			grant(a)
		}
	}
	return granted, reasons
}
