module corpus.example/gate

go 1.19
