module github.com/berthlabs/berth/deploy/helm

go 1.26.0
