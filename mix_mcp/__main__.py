import sys

from mix_mcp.cli import main

sys.exit(main())
