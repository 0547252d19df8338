package harbor_test

import (
	"context"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/member"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/robot"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/user"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/usergroup"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

const userPassword = "Sdk-coverage-1"

// memberCalls: the member tag.
func memberCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"createProjectMember": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-members"))
			if err != nil {
				return err
			}
			_, err = f.addMember(ctx, p)
			return err
		},
		"listProjectMembers": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.Member.ListProjectMembers(ctx, member.NewListProjectMembersParams().WithProjectNameOrID(p.ref()))
			if err == nil && (len(got.Payload) == 0 || got.Payload[0].ID <= 0) {
				return checkf("want members with ids, got %d members", len(got.Payload))
			}
			return err
		},
		"getProjectMember": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			mid, err := f.member(ctx)
			if err != nil {
				return setup("createProjectMember", err)
			}
			_, err = f.c.Member.GetProjectMember(ctx, member.NewGetProjectMemberParams().WithProjectNameOrID(p.ref()).WithMid(mid))
			return err
		},
		"updateProjectMember": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			mid, err := f.member(ctx)
			if err != nil {
				return setup("createProjectMember", err)
			}
			_, err = f.c.Member.UpdateProjectMember(ctx, member.NewUpdateProjectMemberParams().WithProjectNameOrID(p.ref()).
				WithMid(mid).WithRole(&models.RoleRequest{RoleID: 3}))
			return err
		},
		"deleteProjectMember": func(ctx context.Context, f *fixture) error {
			p, err := f.createProject(ctx, f.unique("sdk-members"))
			if err != nil {
				return err
			}
			mid, err := f.addMember(ctx, p)
			if err != nil {
				return err
			}
			_, err = f.c.Member.DeleteProjectMember(ctx, member.NewDeleteProjectMemberParams().WithProjectNameOrID(p.ref()).WithMid(mid))
			return err
		},
	}
}

// addMember makes user() a developer of p and returns the member id.
func (f *fixture) addMember(ctx context.Context, p proj) (int64, error) {
	uid, err := f.user(ctx)
	if err != nil {
		return 0, err
	}
	created, err := f.c.Member.CreateProjectMember(ctx, member.NewCreateProjectMemberParams().WithProjectNameOrID(p.ref()).
		WithProjectMember(&models.ProjectMember{RoleID: 2, MemberUser: &models.UserEntity{UserID: uid, Username: "sdk-user"}}))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// member is user()'s membership of project().
func (f *fixture) member(ctx context.Context) (int64, error) {
	return once(ctx, f, "member", func(ctx context.Context) (int64, error) {
		p, err := f.project(ctx)
		if err != nil {
			return 0, err
		}
		return f.addMember(ctx, p)
	})
}

// createUser creates a user and returns its user_id.
func (f *fixture) createUser(ctx context.Context, name string) (int64, error) {
	created, err := f.c.User.CreateUser(ctx, user.NewCreateUserParams().WithUserReq(&models.UserCreationReq{
		Username: name, Password: userPassword, Email: name + "@example.com", Realname: name}))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// user is the user sdk-user, made once.
func (f *fixture) user(ctx context.Context) (int64, error) {
	return once(ctx, f, "user", func(ctx context.Context) (int64, error) { return f.createUser(ctx, "sdk-user") })
}

// userCalls: the user and usergroup tags.
func userCalls() map[string]sdkCall {
	withUser := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := f.user(ctx)
			if err != nil {
				return setup("createUser", err)
			}
			return call(ctx, f, id)
		}
	}
	withGroup := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "usergroup", func(ctx context.Context) (int64, error) { return f.newGroup(ctx) })
			if err != nil {
				return setup("createUserGroup", err)
			}
			return call(ctx, f, id)
		}
	}
	return map[string]sdkCall{
		"createUser": func(ctx context.Context, f *fixture) error {
			_, err := f.createUser(ctx, f.unique("sdk-new-user"))
			return err
		},
		"getUser": withUser(func(ctx context.Context, f *fixture, id int64) error {
			got, err := f.c.User.GetUser(ctx, user.NewGetUserParams().WithUserID(id))
			if err == nil && got.Payload.Username != "sdk-user" {
				return checkf("user %d is %q", id, got.Payload.Username)
			}
			return err
		}),
		"listUsers": withUser(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.User.ListUsers(ctx, user.NewListUsersParams())
			return err
		}),
		"searchUsers": withUser(func(ctx context.Context, f *fixture, _ int64) error {
			got, err := f.c.User.SearchUsers(ctx, user.NewSearchUsersParams().WithUsername("sdk-user"))
			if err == nil && len(got.Payload) == 0 {
				return checkf("sdk-user not found")
			}
			return err
		}),
		"getCurrentUserInfo": func(ctx context.Context, f *fixture) error {
			got, err := f.c.User.GetCurrentUserInfo(ctx, user.NewGetCurrentUserInfoParams())
			if err == nil && (got.Payload.Username != adminUser || got.Payload.UserID <= 0) {
				return checkf("current user %q, id %d", got.Payload.Username, got.Payload.UserID)
			}
			return err
		},
		"getCurrentUserPermissions": func(ctx context.Context, f *fixture) error {
			p, err := f.project(ctx)
			if err != nil {
				return err
			}
			got, err := f.c.User.GetCurrentUserPermissions(ctx, user.NewGetCurrentUserPermissionsParams().
				WithScope(ptr("/project/"+p.ref())).WithRelative(ptr(true)))
			if err == nil && len(got.Payload) == 0 {
				return checkf("no permission in project %d", p.id)
			}
			return err
		},
		"updateUserProfile": withUser(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.User.UpdateUserProfile(ctx, user.NewUpdateUserProfileParams().WithUserID(id).
				WithProfile(&models.UserProfile{Email: "sdk-user@example.org", Realname: "SDK User", Comment: "coverage"}))
			return err
		}),
		"updateUserPassword": withUser(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.User.UpdateUserPassword(ctx, user.NewUpdateUserPasswordParams().WithUserID(id).
				WithPassword(&models.PasswordReq{NewPassword: userPassword + "x"}))
			return err
		}),
		"setUserSysAdmin": func(ctx context.Context, f *fixture) error {
			id, err := f.createUser(ctx, f.unique("sdk-admin"))
			if err != nil {
				return setup("createUser", err)
			}
			_, err = f.c.User.SetUserSysAdmin(ctx, user.NewSetUserSysAdminParams().WithUserID(id).
				WithSysadminFlag(&models.UserSysAdminFlag{SysadminFlag: true}))
			return err
		},
		"deleteUser": func(ctx context.Context, f *fixture) error {
			id, err := f.createUser(ctx, f.unique("sdk-gone"))
			if err != nil {
				return setup("createUser", err)
			}
			_, err = f.c.User.DeleteUser(ctx, user.NewDeleteUserParams().WithUserID(id))
			return err
		},

		"createUserGroup": func(ctx context.Context, f *fixture) error {
			_, err := f.newGroup(ctx)
			return err
		},
		"listUserGroups": withGroup(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.Usergroup.ListUserGroups(ctx, usergroup.NewListUserGroupsParams())
			return err
		}),
		"searchUserGroups": withGroup(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.Usergroup.SearchUserGroups(ctx, usergroup.NewSearchUserGroupsParams().WithGroupname("sdk-group"))
			return err
		}),
		"getUserGroup": withGroup(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Usergroup.GetUserGroup(ctx, usergroup.NewGetUserGroupParams().WithGroupID(id))
			return err
		}),
		"updateUserGroup": withGroup(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Usergroup.UpdateUserGroup(ctx, usergroup.NewUpdateUserGroupParams().WithGroupID(id).
				WithUsergroup(&models.UserGroup{GroupName: f.unique("sdk-group-renamed"), GroupType: 2}))
			return err
		}),
		"deleteUserGroup": func(ctx context.Context, f *fixture) error {
			id, err := f.newGroup(ctx)
			if err != nil {
				return setup("createUserGroup", err)
			}
			_, err = f.c.Usergroup.DeleteUserGroup(ctx, usergroup.NewDeleteUserGroupParams().WithGroupID(id))
			return err
		},
	}
}

// newGroup creates an HTTP user group (group_type 2) and returns its id.
func (f *fixture) newGroup(ctx context.Context) (int64, error) {
	created, err := f.c.Usergroup.CreateUserGroup(ctx, usergroup.NewCreateUserGroupParams().
		WithUsergroup(&models.UserGroup{GroupName: f.unique("sdk-group"), GroupType: 2}))
	if err != nil {
		return 0, err
	}
	return idFrom(created.Location)
}

// robotCalls: the robot tag.
func robotCalls() map[string]sdkCall {
	withRobot := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "robot", f.newRobot)
			if err != nil {
				return setup("CreateRobot", err)
			}
			return call(ctx, f, id)
		}
	}
	return map[string]sdkCall{
		"CreateRobot": func(ctx context.Context, f *fixture) error {
			_, err := f.newRobot(ctx)
			return err
		},
		"ListRobot": withRobot(func(ctx context.Context, f *fixture, _ int64) error {
			got, err := f.c.Robot.ListRobot(ctx, robot.NewListRobotParams())
			if err == nil && (len(got.Payload) == 0 || got.Payload[0].ID <= 0) {
				return checkf("want robots with ids, got %d robots", len(got.Payload))
			}
			return err
		}),
		"GetRobotByID": withRobot(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Robot.GetRobotByID(ctx, robot.NewGetRobotByIDParams().WithRobotID(id))
			return err
		}),
		"UpdateRobot": withRobot(func(ctx context.Context, f *fixture, id int64) error {
			got, err := f.c.Robot.GetRobotByID(ctx, robot.NewGetRobotByIDParams().WithRobotID(id))
			if err != nil {
				return setup("GetRobotByID", err)
			}
			r := got.Payload
			r.Description = "updated"
			_, err = f.c.Robot.UpdateRobot(ctx, robot.NewUpdateRobotParams().WithRobotID(id).WithRobot(r))
			return err
		}),
		"RefreshSec": withRobot(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.Robot.RefreshSec(ctx, robot.NewRefreshSecParams().WithRobotID(id).WithRobotSec(&models.RobotSec{}))
			return err
		}),
		"DeleteRobot": func(ctx context.Context, f *fixture) error {
			id, err := f.newRobot(ctx)
			if err != nil {
				return setup("CreateRobot", err)
			}
			_, err = f.c.Robot.DeleteRobot(ctx, robot.NewDeleteRobotParams().WithRobotID(id))
			return err
		},
	}
}

// newRobot creates a system robot that may pull project() and returns
// its id.
func (f *fixture) newRobot(ctx context.Context) (int64, error) {
	p, err := f.project(ctx)
	if err != nil {
		return 0, err
	}
	created, err := f.c.Robot.CreateRobot(ctx, robot.NewCreateRobotParams().WithRobot(&models.RobotCreate{
		Name: f.unique("sdk-robot"), Level: "system", Duration: -1, Description: "coverage",
		Permissions: []*models.RobotPermission{{Kind: "project", Namespace: p.name,
			Access: []*models.Access{{Resource: "repository", Action: "pull"}}}},
	}))
	if err != nil {
		return 0, err
	}
	if created.Payload.ID <= 0 {
		return 0, checkf("robot %q created without an id", created.Payload.Name)
	}
	return created.Payload.ID, nil
}
