package ldap_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/berthlabs/berth/auth/ldap"
)

// Logging in against Active Directory over LDAPS, with nested groups
// resolved by the server's in-chain rule. It needs a directory, so it is
// compiled but not run; TestSlapd runs the same calls against OpenLDAP.
func Example() {
	corpCAs := x509.NewCertPool() // e.g. corpCAs.AppendCertsFromPEM(caPEM)
	auth, err := ldap.New(ldap.Config{
		URL:          "ldaps://dc1.corp.example.com",
		TLS:          &tls.Config{RootCAs: corpCAs},
		BindDN:       "CN=svc-registry,OU=Service Accounts,DC=corp,DC=example,DC=com",
		BindPassword: os.Getenv("LDAP_BIND_PASSWORD"),
		BaseDN:       "DC=corp,DC=example,DC=com",
		UserFilter:   "(&(objectCategory=person)(objectClass=user))",
		UserAttr:     "sAMAccountName",
		GroupFilter:  "(objectClass=group)",
		Nested:       ldap.NestedInChain, // AD evaluates it; NestedAuto would find out by itself
		Timeout:      5 * time.Second,
	})
	if err != nil {
		log.Fatal(err) // a configuration error
	}

	ctx := context.Background()
	id, err := auth.Authenticate(ctx, "alice", "correct horse battery staple")
	switch {
	case errors.Is(err, ldap.ErrInvalidCredentials), errors.Is(err, ldap.ErrAmbiguousUser):
		fmt.Println("401: invalid username or password")
		return
	case errors.Is(err, ldap.ErrUnavailable):
		fmt.Println("503: directory unavailable, try again")
		return
	case err != nil:
		log.Printf("LDAP misconfigured: %v", err)
		return
	}

	// Onboard id.Username on first login, then hand rbac its subjects:
	// project roles granted to "group:<DN>" apply to every member.
	subjects := []string{"user:" + id.Username}
	for _, g := range id.Groups {
		subjects = append(subjects, "group:"+g.DN)
	}
	fmt.Println(id.DisplayName, id.Email, subjects)
}
