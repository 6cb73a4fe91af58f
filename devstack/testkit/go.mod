module github.com/modelferry/modelferry/devstack/testkit

go 1.26.8
