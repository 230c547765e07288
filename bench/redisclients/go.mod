module benchredisclients

go 1.26.8

require (
	github.com/redis/go-redis/v9 v9.23.0
	github.com/redis/rueidis v1.0.80
	wxoa v0.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/coocood/freecache v1.2.7 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace wxoa => ../..
