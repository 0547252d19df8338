package rbac

// The built-in matrix follows Harbor's project roles (its "user permissions
// by role" table and the role tables of its source as of v2.13), with three
// choices Harbor leaves open made explicit:
//   - the project audit log is for project admins only (Harbor v2.13 code;
//     older docs also list guests, developers and maintainers);
//   - project robots are visible from maintainer up (Harbor's docs table;
//     its code also lets guests read them);
//   - helm charts keep Harbor's ChartMuseum-era permissions, for chart/.
//
// Each role is the previous role plus the permissions listed for it, so the
// roles nest: a higher role can do everything a lower one can.
var builtinRoles = []struct {
	role Role
	adds []Permission
}{
	{LimitedGuest, perms(
		ResourceProject, ActionRead,
		ResourceQuota, ActionRead,
		ResourceConfiguration, ActionRead,
		ResourceScanner, ActionRead,
		ResourceRepository, ActionList, ActionRead, ActionPull,
		ResourceArtifact, ActionList, ActionRead,
		ResourceTag, ActionList,
		ResourceAccessory, ActionList,
		ResourceScan, ActionRead,
		ResourceSBOM, ActionRead,
		ResourceHelmChart, ActionList, ActionRead,
		ResourceHelmChartVersion, ActionList, ActionRead,
	)},
	{Guest, perms(
		ResourceMember, ActionList, ActionRead,
		ResourceLabel, ActionList, ActionRead,
	)},
	{Developer, perms(
		ResourceRepository, ActionCreate, ActionUpdate, ActionPush,
		ResourceArtifact, ActionCreate,
		ResourceTag, ActionCreate,
		ResourceArtifactLabel, ActionCreate, ActionDelete,
		ResourceTagRetention, ActionList, ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionOperate,
		ResourceHelmChart, ActionCreate,
		ResourceHelmChartVersion, ActionCreate,
	)},
	{Maintainer, perms(
		ResourceRepository, ActionDelete,
		ResourceArtifact, ActionDelete,
		ResourceTag, ActionDelete,
		ResourceScan, ActionCreate, ActionStop,
		ResourceSBOM, ActionCreate, ActionStop,
		ResourceLabel, ActionCreate, ActionUpdate, ActionDelete,
		ResourceImmutableTag, ActionList, ActionCreate, ActionUpdate, ActionDelete,
		ResourceRobot, ActionList, ActionRead,
		ResourceWebhook, ActionList, ActionRead,
		ResourceMetadata, ActionRead,
		ResourceHelmChart, ActionDelete,
		ResourceHelmChartVersion, ActionDelete,
	)},
	{ProjectAdmin, perms(
		ResourceProject, ActionUpdate, ActionDelete,
		ResourceMember, ActionCreate, ActionUpdate, ActionDelete,
		ResourceMetadata, ActionList, ActionCreate, ActionUpdate, ActionDelete,
		ResourceLog, ActionList,
		ResourceRobot, ActionCreate, ActionUpdate, ActionDelete,
		ResourceWebhook, ActionCreate, ActionUpdate, ActionDelete,
		ResourceConfiguration, ActionUpdate,
		ResourceScanner, ActionCreate,
		ResourcePreheatPolicy, ActionList, ActionRead, ActionCreate, ActionUpdate, ActionDelete,
	)},
}

// defaultPublic is what anyone, anonymous included, may do in a public
// project: pull, and see its repositories, artifacts and tags.
var defaultPublic = perms(
	ResourceRepository, ActionPull, ActionRead, ActionList,
	ResourceArtifact, ActionRead, ActionList,
	ResourceTag, ActionList,
)

// Roles returns the built-in roles from least to most privileged.
func Roles() []Role {
	out := make([]Role, len(builtinRoles))
	for i, r := range builtinRoles {
		out[i] = r.role
	}
	return out
}

// Permissions returns the permissions of a built-in role, or nil for any
// other name. The slice is the caller's to keep.
func Permissions(r Role) []Permission {
	var out []Permission
	for _, br := range builtinRoles {
		out = append(out, br.adds...)
		if br.role == r {
			return out
		}
	}
	return nil
}

// rank orders built-in roles for reasons: 1 for limited guest up to 5 for
// project admin; custom roles rank 0.
func rank(r Role) int {
	for i, br := range builtinRoles {
		if br.role == r {
			return i + 1
		}
	}
	return 0
}

// perms reads a compact table: a Resource followed by its Actions, repeated.
func perms(table ...any) []Permission {
	var out []Permission
	var res Resource
	for _, v := range table {
		switch v := v.(type) {
		case Resource:
			res = v
		case Action:
			out = append(out, Permission{res, v})
		default:
			panic("rbac: bad permission table entry")
		}
	}
	return out
}

// DefaultPublicPermissions returns what anyone may do in a public project
// by default, to extend with WithPublicPermissions.
func DefaultPublicPermissions() []Permission { return append([]Permission(nil), defaultPublic...) }
