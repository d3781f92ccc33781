module github.com/minimind-go/minimind

go 1.26.8
