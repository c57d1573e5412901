// Who is signed in: asked of the server on start (the session cookie survives a reload).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import { api, ApiError, onUnauthorized } from '../api/client'
import type { Me } from '../api/types'

interface AuthValue {
  me: Me | null
  checking: boolean
  signIn: (email: string, password: string) => Promise<void>
  signOut: () => Promise<void>
}

const AuthContext = createContext<AuthValue | null>(null)

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null)
  const [checking, setChecking] = useState(true)

  useEffect(() => {
    let cancelled = false
    api
      .me()
      .then((found) => !cancelled && setMe(found))
      .catch((error: unknown) => {
        if (!(error instanceof ApiError) || error.status !== 401) console.warn(error)
      })
      .finally(() => !cancelled && setChecking(false))
    const stop = onUnauthorized(() => setMe(null))
    return () => {
      cancelled = true
      stop()
    }
  }, [])

  const signIn = useCallback(async (email: string, password: string) => {
    setMe(await api.login(email, password))
  }, [])

  const signOut = useCallback(async () => {
    try {
      await api.logout()
    } finally {
      setMe(null)
    }
  }, [])

  const value = useMemo(() => ({ me, checking, signIn, signOut }), [me, checking, signIn, signOut])
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>
}

// eslint-disable-next-line react-refresh/only-export-components
export function useAuth(): AuthValue {
  const value = useContext(AuthContext)
  if (!value) throw new Error('useAuth outside AuthProvider')
  return value
}
