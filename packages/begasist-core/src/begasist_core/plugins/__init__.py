"""The channel plugin API: the Channel base class, its context, errors and markers."""
