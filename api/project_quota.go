package api

import (
	"fmt"

	"github.com/berthlabs/berth/project"
)

// checkQuotaChange refuses a storage_limit from a caller who is not a
// system administrator (admin false), unless it is the value the project has anyway
// (cur: the stored quota on update, the default on create), so a client
// that sends back what it read is not refused. As in Harbor, only system
// administrators set quotas: a project admin raising its own would make
// the limit meaningless.
func checkQuotaChange(admin bool, limit *int64, cur int64) error {
	if admin || limit == nil || quotaOf(*limit) == quotaOf(cur) {
		return nil
	}
	return forbidden(fmt.Sprintf("only system administrators may set a project's storage_limit (asked %d, the project has %d); "+
		"leave it out, or ask an administrator", *limit, quotaOf(cur)))
}

// quotaOf reads a quota as the project store stores it: 0 is unlimited.
func quotaOf(n int64) int64 {
	if n == 0 {
		return project.Unlimited
	}
	return n
}
