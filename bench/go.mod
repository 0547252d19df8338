module github.com/berthlabs/berth/bench

go 1.26
