// Command hello is a tiny main package the lambdapack tests build.
package main

import "fmt"

func main() { fmt.Println("hello") }
