// Translation unit that carries the precompiled header (see pch.h).
