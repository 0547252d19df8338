module github.com/berthlabs/berth/deploy/image

go 1.26.0
