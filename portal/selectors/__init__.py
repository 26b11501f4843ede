"""The kernel's read side: selectors the pages of every chapter use."""
