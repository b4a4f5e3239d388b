module example/gotest

go 1.21
