// Package trivytest provides fixtures for tests of code that scans images
// with github.com/berthlabs/berth/scan/trivy: a small Trivy vulnerability
// DB of real, published advisories, packaged as Trivy's OCI artifact; images
// whose packages those advisories hit; and the exact findings a scan of
// each image must report. It is for tests only.
//
// The DB is written in trivy-db's schema 2 layout and pushed with
// go-containerregistry to any registry (see PushDB); point the scanner at
// it with trivy.WithDBRepository. Images:
//
//   - DebianImage: one layer holding this machine's Debian 12 package state
//     (/etc/os-release, /etc/debian_version, /var/lib/dpkg/status and the
//     *.md5sums). Its findings depend on the versions installed here:
//     DebianFindings computes them from /var/lib/dpkg/status with Debian
//     version ordering, and fails when the machine is not Debian 12 or
//     fewer than MinDebianAdvisories advisories apply.
//   - AlpineImage: a synthetic Alpine 3.10.1 package state (the packages
//     and versions alpine:3.10.1 ships); its findings are AlpineFindings.
//   - AppImage: an application image built on any of them, sharing the
//     base's layers, as a Dockerfile's FROM does.
//
// File, Layer and Image build other images from files.
//
// Images are built in memory and are reproducible: the same files give
// the same layer and manifest digests. The DB artifact is the same for
// the same UpdatedAt within a process (see DBImage). Nothing here reaches
// the network except PushDB, which talks to the registry it is given.
//
// A test of the Debian fixture:
//
//	img, err := trivytest.DebianImage()
//	require.NoError(t, err)
//	want, err := trivytest.DebianFindings()
//	require.NoError(t, err) // explains what is wrong with this machine
//	require.NoError(t, trivytest.PushDB(ctx, host+"/security/trivy-db:2", rt, false, trivytest.DBUpdatedAt))
//	// push img, scan it with a trivy.Scanner reading that DB, then:
//	require.Equal(t, want, trivytest.Findings(report))
package trivytest
