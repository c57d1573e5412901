import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import '@xyflow/react/dist/style.css'
import './index.css'
import { App } from './App'
import { prefetchFlowFromUrl } from './api/kinds'

performance.mark('castflow:app-start')
prefetchFlowFromUrl(window.location.pathname)
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
