package transfer_test

import (
	"os"
	"testing"

	"github.com/rolecall/rolecall/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
